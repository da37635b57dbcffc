//! Hostile and broken input: each gets a clear, bounded answer and the server stays healthy.
//! Secrets never reach logs, errors or metrics.

use crate::helpers::{basic, free_port, wait_ready, TestApp};
use std::io::Write as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const DRAIN: &str = "s3cr3t-t0ken";

async fn post(app: &TestApp, body: Vec<u8>, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic("heroku", DRAIN))
        .header("Content-Type", "application/logplex-1")
        .body(body);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.expect("post")
}

async fn raws(app: &TestApp) -> Vec<Vec<u8>> {
    sqlx::query_scalar("SELECT raw FROM all_lines ORDER BY id")
        .fetch_all(app.store.pool())
        .await
        .expect("raws")
}

#[tokio::test]
async fn broken_frames_are_stored_raw_and_answered_204() {
    let app = TestApp::spawn_with(&["--max-frame", "1KiB"]).await;
    app.app_with_token("heroku", DRAIN).await;
    let msg = b"<190>1 2026-11-01T10:00:00.000001+00:00 host app web.1 - ok\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "length larger than the body",
            b"999 <190>1 2026-11-01T10:00:00Z host app web.1 - short".to_vec(),
        ),
        ("length larger than the cap", {
            let mut b = b"5000 ".to_vec();
            b.extend(std::iter::repeat_n(b'x', 5000));
            b
        }),
        ("truncated frame after a good one", {
            let mut b = format!("{} ", msg.len()).into_bytes();
            b.extend_from_slice(msg);
            b.extend_from_slice(b"80 <190>1 2026-11");
            b
        }),
        ("not UTF-8, NUL and control bytes", {
            let m = b"<190>1 2026-11-01T10:00:00.000001+00:00 host app web.1 - caf\xe9 \x00 \x1b[31mred\x07\n";
            let mut b = format!("{} ", m.len()).into_bytes();
            b.extend_from_slice(m);
            b
        }),
        (
            "no octet counts at all",
            b"just some text\nand more\n".to_vec(),
        ),
    ];
    for (what, body) in cases {
        let before = raws(&app).await.len();
        let res = post(&app, body.clone(), &[]).await;
        assert_eq!(res.status(), 204, "{what}");
        let after = raws(&app).await;
        assert!(after.len() > before, "{what}: something stored");
        let stored: usize = after[before..].iter().map(Vec::len).sum();
        assert!(stored <= body.len(), "{what}");
    }
    // Invalid bytes are kept exactly in raw; the text is searchable and clean.
    let (message, raw): (String, Vec<u8>) = sqlx::query_as(
        "SELECT message, raw FROM all_lines WHERE raw LIKE '%caf%' ORDER BY id LIMIT 1",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("row");
    assert!(raw.windows(2).any(|w| w == b"\xe9 "));
    assert!(raw.contains(&0));
    assert_eq!(message, "caf\u{FFFD} \u{FFFD} red\u{7}");
    assert_eq!(app.readyz_status().await, 200);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn many_tiny_frames_huge_lines_and_gzip_bombs_are_bounded() {
    // One request of 200,000 rows is far past Logplex's ~100 KiB bodies; it may take longer
    // than the default ack timeout to commit on a busy machine, which is not what this checks.
    let app = TestApp::spawn_with(&[
        "--max-body",
        "12MiB",
        "--max-lines",
        "200000",
        "--queue-bytes",
        "256MiB",
        "--app-queue-share",
        "256MiB",
        "--ack-timeout",
        "20s",
    ])
    .await;
    app.app_with_token("heroku", DRAIN).await;

    // 200,000 one-byte frames in one body.
    let body: Vec<u8> = b"1 x".repeat(200_000);
    let started = Instant::now();
    assert_eq!(post(&app, body, &[]).await.status(), 204);
    assert_eq!(app.line_count().await, 200_000);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // A 10 MB single line: over the frame cap, kept whole as one raw line.
    let line = vec![b'y'; 10 * 1024 * 1024];
    let mut body = format!("{} ", line.len()).into_bytes();
    body.extend_from_slice(&line);
    assert_eq!(post(&app, body, &[]).await.status(), 204);
    let longest: i32 = sqlx::query_scalar("SELECT max(length(raw)) FROM all_lines")
        .fetch_one(app.store.pool())
        .await
        .expect("max");
    assert!(longest >= 10 * 1024 * 1024);

    // Over the body limit: 413 before anything is stored.
    let res = post(&app, vec![b'z'; 13 * 1024 * 1024], &[]).await;
    assert_eq!(res.status(), 413);

    // A gzip bomb: 1 GiB of zeros in about a megabyte, refused after 12 MiB of inflation.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        enc.write_all(&zeros).expect("gzip");
    }
    let bomb = enc.finish().expect("gzip");
    let started = Instant::now();
    let res = post(&app, bomb, &[("Content-Encoding", "gzip")]).await;
    assert_eq!(res.status(), 413);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(app.readyz_status().await, 200);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn slow_loris_connection_floods_and_wrong_methods_get_bounded_answers() {
    let app = TestApp::spawn_with(&[
        "--idle-timeout",
        "1s",
        "--body-timeout",
        "1s",
        "--max-connections",
        "4",
    ])
    .await;
    app.app_with_token("heroku", DRAIN).await;

    // Headers that never finish: the connection is closed after the idle timeout.
    let mut slow = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    slow.write_all(b"POST /logs HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let _ = n;

    // A body that never finishes: 503 with Retry-After after the body timeout.
    let mut slow = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /logs HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: 1000\r\n\r\n0123456789",
        basic("heroku", DRAIN)
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let started = Instant::now();
    let _ = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after"),
        "{answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    // A flood: four idle connections hold every slot; the fifth gets 503 at once.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(
            tokio::net::TcpStream::connect(app.addr)
                .await
                .expect("connect"),
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fifth = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), fifth.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Wrong methods: 405; a wrong content type is still read as Logplex (never a 4xx for it).
    let res = app.client.get(app.url("/logs")).send().await.expect("get");
    assert_eq!(res.status(), 405);
    let res = app
        .client
        .put(app.url("/logs"))
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), 405);
    let m = b"<190>1 2026-11-01T10:00:00.000001+00:00 host app web.1 - typed oddly\n";
    let mut body = format!("{} ", m.len()).into_bytes();
    body.extend_from_slice(m);
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic("heroku", DRAIN))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204);
    assert_eq!(app.readyz_status().await, 200);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn sql_and_escape_strings_are_only_ever_data() {
    let api = "api-token-0123456789abcdef";
    let app = TestApp::spawn_with(&["--api-token", api]).await;
    app.app_with_token("heroku", DRAIN).await;
    let m = b"<190>1 2026-11-01T10:00:00.000001+00:00 host app web.1 - it's 100% \"quoted\" \\ and _under_\n";
    let mut body = format!("{} ", m.len()).into_bytes();
    body.extend_from_slice(m);
    assert_eq!(post(&app, body, &[]).await.status(), 204);

    // Hostile app names in drain credentials: refused, nothing created.
    for name in ["x'; DROP TABLE lines;--", "heroku\" OR 1=1", "../../etc"] {
        let res = app
            .client
            .post(app.url("/logs"))
            .header("Authorization", basic(name, DRAIN))
            .body("1 x")
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 401, "{name}");
    }
    // Hostile query parameters: data, never SQL.
    for (param, value) in [
        ("q", "' OR 1=1 --"),
        ("q", "%"),
        ("dyno", "web.1'; DROP TABLE lines;--"),
        ("type", "web%"),
        ("path", "/' OR '1'='1"),
        ("request_id", "\\x00"),
        ("source", "app' UNION SELECT * FROM apps--"),
    ] {
        let res = app
            .client
            .get(app.url("/api/apps/heroku/logs"))
            .bearer_auth(api)
            .query(&[(param, value), ("format", "json")])
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 200, "{param}={value}");
        let v: serde_json::Value = res.json().await.expect("json");
        let n = v["lines"].as_array().map_or(0, Vec::len);
        let expected = usize::from(param == "q" && value == "%");
        assert_eq!(n, expected, "{param}={value}");
    }
    let res = app
        .client
        .get(app.url("/api/apps/x'%3B%20DROP%20TABLE%20lines%3B--/logs"))
        .bearer_auth(api)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);
    // `%`, `_`, quotes and backslashes in a search are literal.
    for (q, n) in [
        ("100% _under_", 1),
        ("it's \\", 1),
        ("10_%", 0),
        ("\"%  x\"", 0),
        ("\"% \\\"quoted\"", 0),
    ] {
        let res = app
            .client
            .get(app.url("/api/apps/heroku/logs"))
            .bearer_auth(api)
            .query(&[("q", q), ("format", "json")])
            .send()
            .await
            .expect("get");
        let v: serde_json::Value = res.json().await.expect("json");
        assert_eq!(v["lines"].as_array().map_or(0, Vec::len), n, "q={q}");
    }
    assert_eq!(app.line_count().await, 1, "the table is still there");
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn tokens_never_appear_in_logs_errors_or_metrics() {
    let app = TestApp::spawn().await;
    let api = "api-secret-token-5d41402abc4b2a76";
    let drain = "drain-secret-token-7d793037a0760186";
    let wrong = "wrong-secret-token-9e107d9d372bb682";
    app.app_with_token("heroku", drain).await;
    let port = free_port();
    let log_path =
        std::env::temp_dir().join(format!("logdrain-secrets-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_logdrain"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &app.db_url)
        .env("LOGDRAIN_API_TOKEN", api)
        .env("LOGDRAIN_LOG_FORMAT", "json")
        .env("RUST_LOG", "trace,sqlx=debug")
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .expect("spawn");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&app.client, &base).await;
    let m = b"<190>1 2026-11-01T10:00:00.000001+00:00 host app web.1 - hello\n";
    let mut body = format!("{} ", m.len()).into_bytes();
    body.extend_from_slice(m);
    let mut bodies = Vec::new();
    for (user, token, expect) in [
        ("heroku", drain, 204),
        ("heroku", wrong, 401),
        ("nope", drain, 401),
    ] {
        let res = app
            .client
            .post(format!("{base}/logs?token={token}"))
            .header("Authorization", basic(user, token))
            .body(body.clone())
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), expect);
        bodies.push(res.text().await.unwrap_or_default());
    }
    for (token, expect) in [(api, 200), (wrong, 401)] {
        let res = app
            .client
            .get(format!("{base}/api/apps/heroku/logs?since=bad-{token}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        assert!(
            res.status() == expect || res.status() == 400,
            "{}",
            res.status()
        );
        bodies.push(res.text().await.unwrap_or_default());
    }
    let metrics = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("m")
        .text()
        .await
        .expect("t");
    bodies.push(metrics);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    assert!(
        logs.contains("logdrain serving"),
        "the log was captured: {logs}"
    );
    for secret in [api, drain, wrong] {
        assert!(!logs.contains(secret), "{secret} in the server's log");
        for b in &bodies {
            assert!(!b.contains(secret), "{secret} in a response: {b}");
        }
    }
    // Tokens at rest are hashes.
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT drain_token_hash FROM apps WHERE name = 'heroku'")
            .fetch_one(app.store.pool())
            .await
            .expect("hash");
    assert_eq!(stored.map(|h| h.len()), Some(32));
}
