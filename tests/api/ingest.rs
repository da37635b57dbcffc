//! POST /logs end to end: samples stored byte-exact, retries once, auth, limits, tags, loss.

use crate::helpers::{basic, post_sample, sample_posts, TestApp};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TOKEN: &str = "s3cr3t-t0ken"; // the password in samples/posts/13's Authorization header

async fn raw_lines_of(app: &TestApp, frame_id: &str) -> Vec<Vec<u8>> {
    sqlx::query_scalar("SELECT raw FROM all_lines WHERE frame_id = $1 ORDER BY id")
        .bind(frame_id)
        .fetch_all(app.store.pool())
        .await
        .expect("select")
}

fn header<'a>(post: &'a crate::helpers::SamplePost, name: &str) -> Option<&'a str> {
    post.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Splits a syslog message after its six header tokens: (header, MSG with any LF).
fn split_header(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    for _ in 0..6 {
        at += raw[at..].iter().position(|&b| b == b' ').expect("header") + 1;
    }
    raw.split_at(at)
}

/// What the store must hold for one post: each message's exact bytes, except that the
/// 10,000-byte chunks of one split line (same header, no LF) are one row: the first chunk's
/// header followed by every chunk's MSG.
fn expected_rows(messages: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut rows: Vec<Vec<u8>> = Vec::new();
    let mut open: Option<Vec<u8>> = None; // header of the split line being joined
    for m in messages {
        let (header, msg) = split_header(m);
        match &open {
            Some(h) if h.as_slice() == header => {
                rows.last_mut().expect("row").extend_from_slice(msg)
            }
            _ => rows.push(m.clone()),
        }
        open = (msg.len() == 10_000).then(|| header.to_vec());
    }
    rows
}

#[tokio::test]
async fn every_sample_post_is_answered_204_and_stored_byte_exact() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    let auth = basic("heroku", TOKEN);
    let mut total = 0usize;
    let mut joined = 0usize;
    let mut seen_frames = std::collections::HashSet::new();
    for post in sample_posts() {
        let res = post_sample(&app, &post, &auth).await;
        assert_eq!(res.status(), 204, "{}", post.name);
        let frame_id = header(&post, "Logplex-Frame-Id").expect("frame id");
        let stored = raw_lines_of(&app, frame_id).await;
        let expected = expected_rows(&post.messages);
        joined += post.messages.len() - expected.len();
        assert_eq!(stored.len(), expected.len(), "{}", post.name);
        if seen_frames.insert(frame_id.to_owned()) {
            assert_eq!(stored, expected, "{}: stored bytes differ", post.name);
            total += expected.len();
        } else {
            // A retry's L10 line is rebuilt with a new timestamp (docs/wire.md, "Answers and retries"):
            // what stays stored is the first attempt, untouched.
            assert_ne!(
                stored, post.messages,
                "{}: the retry must not overwrite",
                post.name
            );
        }
    }
    assert_eq!(
        joined, 2,
        "post 08 holds two split lines of two chunks each"
    );
    let count = app.line_count().await;
    assert_eq!(
        count as usize, total,
        "the retried frame must be stored once"
    );
    let counted: i64 = sqlx::query_scalar("SELECT lines FROM app_counters")
        .fetch_one(app.store.pool())
        .await
        .expect("counter");
    assert_eq!(counted as usize, total);
    // The bytes above were read through all_lines; most rows hold them once, in `message`,
    // and only the lines line_raw() cannot rebuild keep their own.
    let (kept, rebuilt): (i64, i64) =
        sqlx::query_as("SELECT count(raw), count(*) FILTER (WHERE raw IS NULL) FROM lines")
            .fetch_one(app.store.pool())
            .await
            .expect("raw counts");
    assert!(
        kept > 0 && rebuilt > 4 * kept,
        "kept {kept}, rebuilt {rebuilt}"
    );
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_retried_frame_is_answered_204_stored_once_and_counted_as_duplicate() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    let auth = basic("heroku", TOKEN);
    let posts = sample_posts();
    let first = posts
        .iter()
        .find(|p| p.name.starts_with("10a"))
        .expect("10a");
    let retry = posts
        .iter()
        .find(|p| p.name.starts_with("10b"))
        .expect("10b");
    assert_eq!(post_sample(&app, first, &auth).await.status(), 204);
    assert_eq!(post_sample(&app, retry, &auth).await.status(), 204);
    assert_eq!(post_sample(&app, retry, &auth).await.status(), 204);
    let frame_id = header(first, "Logplex-Frame-Id").expect("id");
    assert_eq!(
        raw_lines_of(&app, frame_id).await.len(),
        first.expected_count
    );
    let dupes: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(count), 0)::int8 FROM loss_events WHERE event = 'duplicate_frame'",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("dupes");
    assert_eq!(dupes, 2);
}

#[tokio::test]
async fn concurrent_copies_of_one_frame_store_it_once() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    let auth = basic("heroku", TOKEN);
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("01")).expect("01");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let req = app
            .client
            .post(app.url("/logs"))
            .header("Authorization", &auth)
            .header(
                "Logplex-Frame-Id",
                header(post, "Logplex-Frame-Id").expect("id"),
            )
            .header(
                "Logplex-Msg-Count",
                header(post, "Logplex-Msg-Count").expect("count"),
            )
            .body(post.body.clone());
        set.spawn(async move { req.send().await.expect("send").status() });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.expect("task"), 204);
    }
    let frame_id = header(post, "Logplex-Frame-Id").expect("id");
    assert_eq!(
        raw_lines_of(&app, frame_id).await.len(),
        post.expected_count
    );
}

#[tokio::test]
async fn drain_url_query_parameters_are_stored_as_tags_on_every_line() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("13")).expect("13");
    // The sample's own Authorization header is heroku:s3cr3t-t0ken.
    let auth = header(post, "Authorization").expect("auth").to_owned();
    assert_eq!(post_sample(&app, post, &auth).await.status(), 204);
    let tags: Vec<serde_json::Value> = sqlx::query_scalar("SELECT tags FROM lines")
        .fetch_all(app.store.pool())
        .await
        .expect("tags");
    assert_eq!(tags.len(), post.expected_count);
    for t in tags {
        assert_eq!(
            t,
            serde_json::json!({"app": "acme-shop", "env": "production"})
        );
    }
}

#[tokio::test]
async fn loss_reported_by_l10_and_count_mismatches_are_recorded_per_app() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    let auth = basic("heroku", TOKEN);
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("02")).expect("02");
    assert_eq!(post_sample(&app, post, &auth).await.status(), 204);
    let dropped: i64 = sqlx::query_scalar("SELECT dropped FROM app_counters")
        .fetch_one(app.store.pool())
        .await
        .expect("dropped");
    assert!(dropped > 0, "the L10 line's count is recorded");
    let l10: (String, serde_json::Value) =
        sqlx::query_as("SELECT kind, fields FROM lines WHERE message LIKE 'Error L10%'")
            .fetch_one(app.store.pool())
            .await
            .expect("l10 line");
    assert_eq!(l10.0, "system");
    assert_eq!(l10.1["dropped"].as_i64(), Some(dropped));

    // A body whose Logplex-Msg-Count disagrees is stored anyway, and the mismatch recorded.
    let one = b"<190>1 2024-05-01T10:00:00.000001+00:00 host app web.1 - hello\n";
    let body = format!("{} {}", one.len(), String::from_utf8_lossy(one));
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", &auth)
        .header("Content-Type", "application/logplex-1")
        .header("Logplex-Msg-Count", "3")
        .header("Logplex-Frame-Id", "MISMATCH0000000000000000000000001")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 204);
    let mismatch: i64 =
        sqlx::query_scalar("SELECT count FROM loss_events WHERE event = 'msg_count_mismatch'")
            .fetch_one(app.store.pool())
            .await
            .expect("mismatch");
    assert_eq!(mismatch, 2);
}

#[tokio::test]
async fn wrong_or_missing_credentials_get_401_with_a_basic_challenge() {
    let app = TestApp::spawn().await;
    app.app_with_token("shop", "right-token-0123456789").await;
    let cases = [
        None,
        Some(basic("shop", "wrong-token")),
        Some(basic("other-app", "right-token-0123456789")),
        Some(basic("Not_An_App", "right-token-0123456789")),
        Some("Bearer right-token-0123456789".to_owned()),
    ];
    for auth in cases {
        let mut req = app.client.post(app.url("/logs")).body("1 x");
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        let res = req.send().await.expect("send");
        assert_eq!(res.status(), 401, "{auth:?}");
        assert_eq!(
            res.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Basic realm=\"logdrain\"")
        );
    }
    let n = app.line_count().await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn bad_credentials_are_refused_before_the_body_is_sent() {
    let app = TestApp::spawn().await;
    let mut sock = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    // Announce 1 MB but send none of it: the answer must come from the headers alone.
    let head = format!(
        "POST /logs HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/logplex-1\r\nContent-Length: 1000000\r\n\r\n",
        basic("shop", "nope")
    );
    sock.write_all(head.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 1024];
    let started = Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
        .await
        .expect("answered without the body")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_store_nothing() {
    let app = TestApp::spawn_with(&["--max-body", "1KiB", "--queue-bytes", "1MiB"]).await;
    app.app_with_token("heroku", TOKEN).await;
    let posts = sample_posts();
    let big = posts.iter().find(|p| p.name.starts_with("15")).expect("15");
    let res = post_sample(&app, big, &basic("heroku", TOKEN)).await;
    assert_eq!(res.status(), 413);
    let n = app.line_count().await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    use flate2::write::GzEncoder;
    use std::io::Write as _;
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("03")).expect("03");
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&post.body).expect("gzip");
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic("heroku", TOKEN))
        .header("Content-Type", "application/logplex-1")
        .header("Content-Encoding", "gzip")
        .body(enc.finish().expect("gzip"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 204);
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT raw FROM all_lines ORDER BY id")
        .fetch_all(app.store.pool())
        .await
        .expect("rows");
    assert_eq!(stored, post.messages);
}

#[tokio::test]
async fn quick_start_token_creates_the_app_on_first_use() {
    let token = "quick-start-token-0123456789";
    let app = TestApp::spawn_with(&["--drain-token", token]).await;
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("04")).expect("04");
    assert_eq!(
        post_sample(&app, post, &basic("my-new-app", token))
            .await
            .status(),
        204
    );
    let (name, n): (String, i64) = sqlx::query_as(
        "SELECT a.name, count(l.*) FROM apps a JOIN lines l ON l.app_id = a.id GROUP BY a.name",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("app row");
    assert_eq!(name, "my-new-app");
    assert_eq!(n as usize, post.expected_count);
    // Any other password is still refused.
    assert_eq!(
        post_sample(&app, post, &basic("my-new-app", "guess"))
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn garbage_and_unframed_bodies_are_stored_raw_not_rejected() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    let body: &[u8] = b"\xff\xfe not syslog at all\n<190>1 2024-05-01T10:00:00+00:00 host app web.1 - plain line\n";
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic("heroku", TOKEN))
        .body(body.to_vec())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 204);
    let rows: Vec<(Vec<u8>, Option<i16>)> =
        sqlx::query_as("SELECT raw, pri FROM all_lines ORDER BY id")
            .fetch_all(app.store.pool())
            .await
            .expect("rows");
    let all: Vec<u8> = rows.iter().flat_map(|(r, _)| r.clone()).collect();
    // Every byte of the body that is not a line separator is stored.
    let expected: Vec<u8> = body.iter().copied().filter(|b| *b != b'\n').collect();
    let got: Vec<u8> = all.into_iter().filter(|b| *b != b'\n').collect();
    assert_eq!(got, expected);
    assert!(
        rows.iter().any(|(_, pri)| pri.is_none()),
        "the garbage is a raw line"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("h")
            .status(),
        200
    );
    let ready = app.client.get(app.url("/readyz")).send().await.expect("r");
    assert_eq!(ready.status(), 200);
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("01")).expect("01");
    assert_eq!(
        post_sample(&app, post, &basic("heroku", TOKEN))
            .await
            .status(),
        204
    );
    let text = app.get_text("/metrics").await;
    assert!(
        text.contains(&format!(
            "logdrain_lines_stored_total {}",
            post.expected_count
        )),
        "{text}"
    );
    assert!(
        text.contains("logdrain_requests_accepted_total 1"),
        "{text}"
    );
    assert!(text.contains("logdrain_batch_rows_count 1"), "{text}");
    assert!(
        text.contains("logdrain_commit_duration_seconds_count 1"),
        "{text}"
    );
    assert!(
        text.contains("logdrain_db_pool_max_connections 8"),
        "{text}"
    );
    assert!(
        text.contains("logdrain_db_pool_connections{state=\"idle\"}"),
        "{text}"
    );
    // A retry of the same frame moves the dedupe counter.
    assert_eq!(
        post_sample(&app, post, &basic("heroku", TOKEN))
            .await
            .status(),
        204
    );
    let text = app.get_text("/metrics").await;
    assert!(
        text.contains("logdrain_frames_deduplicated_total 1"),
        "{text}"
    );
}

#[tokio::test]
async fn shutdown_flushes_and_acknowledges_in_flight_requests() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", TOKEN).await;
    let auth = basic("heroku", TOKEN);
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("15")).expect("15");
    let client = app.client.clone();
    let url = app.url("/logs");
    // Many distinct frames in flight, then the shutdown trigger.
    let mut handles = Vec::new();
    for i in 0..20 {
        let req = client
            .post(&url)
            .header("Authorization", &auth)
            .header("Logplex-Frame-Id", format!("{i:032X}"))
            .body(post.body.clone());
        handles.push(tokio::spawn(async move {
            req.send().await.map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let store = app.store.clone();
    app.stop().await.expect("clean stop");
    let mut acked = 0i64;
    for h in handles {
        if let Ok(Ok(204)) = h.await {
            acked += 1;
        }
    }
    let frames: i64 = sqlx::query_scalar("SELECT count(*) FROM frames")
        .fetch_one(store.pool())
        .await
        .expect("frames");
    let lines: i64 = sqlx::query_scalar("SELECT count(*) FROM lines")
        .fetch_one(store.pool())
        .await
        .expect("lines");
    assert!(acked >= 1, "some requests were answered before the stop");
    assert!(frames >= acked, "every acknowledged frame is committed");
    assert_eq!(
        lines,
        frames * post.expected_count as i64,
        "frames are never half-stored"
    );
}

#[tokio::test]
async fn apps_create_prints_a_drains_add_line_whose_token_works() {
    let app = TestApp::spawn().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_logdrain"))
        .args([
            "apps",
            "create",
            "acme-shop",
            "--url",
            "https://logs.example.com",
        ])
        .env("DATABASE_URL", &app.db_url)
        .output()
        .expect("run logdrain");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("heroku drains:add"))
        .expect("a drains:add line");
    // heroku drains:add https://acme-shop:TOKEN@logs.example.com/logs -a acme-shop
    let url = line.split_whitespace().nth(2).expect("url");
    assert!(line.ends_with(" -a acme-shop"), "{line}");
    let creds = url
        .strip_prefix("https://")
        .and_then(|r| r.strip_suffix("@logs.example.com/logs"))
        .expect("url shape");
    let (name, token) = creds.split_once(':').expect("name:token");
    assert_eq!(name, "acme-shop");
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("01")).expect("01");
    assert_eq!(
        post_sample(&app, post, &basic(name, token)).await.status(),
        204
    );
    let hashes: (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT drain_token_hash, read_token_hash FROM apps WHERE name = 'acme-shop'",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("app");
    assert_ne!(hashes.0, token.as_bytes(), "tokens are stored hashed");
    assert_eq!(hashes.0.len(), 32);
}
