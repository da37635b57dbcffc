//! One noisy drain cannot starve the others, against a real server with default settings: a
//! body that can never be stored is refused at once, a flooding app is held to its share of the
//! write queue while a quiet app is served promptly, and clients trickling headers are closed
//! within the head deadline without stopping a well-behaved sender.

use crate::helpers::{basic, serve_binary, TestApp};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const NOISY: &str = "noisy-app-token-0123";
const QUIET: &str = "quiet-app-token-0123";

/// The defaults these tests rely on (README, Configuration).
const ACK_TIMEOUT: Duration = Duration::from_secs(4);
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// One frame of `app`, `n` lines: `(body, lines)`.
fn body(tag: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 220);
    // Stamped now, as Logplex stamps lines: they land in today's partition.
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S");
    for i in 0..n {
        let msg = format!(
            "<190>1 {now}.{i:06}+00:00 host app web.1 - {tag} line {i} \
             method=GET path=/orders/{i} status=200 duration=12ms user=someone@example.com\n"
        );
        out.extend_from_slice(format!("{} {msg}", msg.len()).as_bytes());
    }
    out
}

/// POSTs one body as `app` with this frame id; the status, or 0 for a transport error.
async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    name: &str,
    token: &str,
    frame_id: &str,
    body: Vec<u8>,
) -> u16 {
    post_to(client, &app.url("/logs"), name, token, frame_id, body).await
}

/// [`post`] to the drain URL `url`.
async fn post_to(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    token: &str,
    frame_id: &str,
    body: Vec<u8>,
) -> u16 {
    client
        .post(url)
        .header("Authorization", basic(name, token))
        .header("Content-Type", "application/logplex-1")
        .header("Logplex-Frame-Id", frame_id)
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// A server process, killed when the test ends, whatever its outcome (what it acknowledged
/// is committed already).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The p-th percentile of some latencies.
fn percentile(latencies: &mut [Duration], p: f64) -> Duration {
    latencies.sort_unstable();
    let at = ((latencies.len() as f64 - 1.0) * p).round() as usize;
    latencies[at.min(latencies.len() - 1)]
}

/// Lines stored per frame id of one app.
async fn stored_per_frame(app: &TestApp, name: &str) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT l.frame_id, count(*) FROM lines l JOIN apps a ON a.id = l.app_id \
         WHERE a.name = $1 GROUP BY l.frame_id",
    )
    .bind(name)
    .fetch_all(app.store.pool())
    .await
    .expect("stored per frame");
    rows.into_iter().collect()
}

#[tokio::test]
async fn a_million_frame_body_is_refused_at_once_while_another_apps_posts_are_stored() {
    let app = TestApp::spawn().await;
    app.app_with_token("noisy", NOISY).await;
    let quiet_id = app.app_with_token("quiet", QUIET).await;
    // 1,000,000 one-byte frames: 3 MB, under LOGDRAIN_MAX_BODY.
    let huge = b"1 x".repeat(1_000_000);
    assert!(huge.len() < 4 * 1024 * 1024);

    let noisy = async {
        let mut answers = Vec::new();
        // A sender that repeats it, as a retrying drain would.
        for attempt in 0..3 {
            let started = Instant::now();
            let status = post(&app.client, &app, "noisy", NOISY, "huge", huge.clone()).await;
            answers.push((attempt, status, started.elapsed()));
        }
        answers
    };
    let quiet = async {
        let mut answers = Vec::new();
        for i in 0..10 {
            let started = Instant::now();
            let status = post(
                &app.client,
                &app,
                "quiet",
                QUIET,
                &format!("q{i}"),
                body("quiet", 5),
            )
            .await;
            answers.push((i, status, started.elapsed()));
        }
        answers
    };
    let (noisy, quiet) = tokio::join!(noisy, quiet);
    for (attempt, status, took) in noisy {
        assert_eq!(status, 413, "attempt {attempt}");
        assert!(took < ACK_TIMEOUT, "attempt {attempt} took {took:?}");
    }
    for (i, status, took) in quiet {
        assert_eq!(status, 204, "quiet post {i}");
        assert!(
            took < Duration::from_secs(1),
            "quiet post {i} took {took:?}"
        );
    }
    assert!(stored_per_frame(&app, "noisy").await.is_empty());
    assert_eq!(stored_per_frame(&app, "quiet").await.len(), 10);

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let admitted =
        format!("logdrain_app_admissions_total{{app_id=\"{quiet_id}\",result=\"admitted\"}} 10");
    assert!(metrics.contains(&admitted), "{metrics}");
    app.stop().await.expect("clean stop");
}

/// The server runs as its own process (the `logdrain` binary, default settings), so the
/// flooding clients of this test do not share its runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_app_gets_its_share_while_a_quiet_app_sees_no_503_and_every_acked_frame_is_stored_once(
) {
    /// Connections of the flooding app, each sending as fast as it is answered.
    const FLOOD_CONNECTIONS: usize = 256;
    /// Lines per flood body: about 100 KiB, like Logplex's.
    const FLOOD_LINES: usize = 450;
    /// Frames the quiet app sends, one per 100 ms.
    const QUIET_FRAMES: usize = 50;

    let app = TestApp::spawn().await;
    app.app_with_token("noisy", NOISY).await;
    app.app_with_token("quiet", QUIET).await;
    let (server, base) = serve_binary(&app).await;
    let server = KillOnDrop(server);
    let drain_url = format!("{base}/logs");
    let flood_body = bytes::Bytes::from(body("noisy", FLOOD_LINES));
    let stop = Arc::new(AtomicBool::new(false));
    let flood_acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let flood_client = reqwest::Client::builder()
        .pool_max_idle_per_host(FLOOD_CONNECTIONS)
        .build()
        .expect("client");
    let mut flood = tokio::task::JoinSet::new();
    for c in 0..FLOOD_CONNECTIONS {
        let (client, app_url, stop, acked, body) = (
            flood_client.clone(),
            drain_url.clone(),
            Arc::clone(&stop),
            Arc::clone(&flood_acked),
            flood_body.clone(),
        );
        flood.spawn(async move {
            let mut n = 0u64;
            while !stop.load(Relaxed) {
                let frame_id = format!("f{c}-{n}");
                n += 1;
                // Back-off as a drain does: Retry-After on a 503, then the next frame.
                let res = client
                    .post(&app_url)
                    .header("Authorization", basic("noisy", NOISY))
                    .header("Content-Type", "application/logplex-1")
                    .header("Logplex-Frame-Id", &frame_id)
                    .body(body.clone())
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match res.map(|r| r.status().as_u16()) {
                    Ok(204) => acked.lock().expect("lock").push(frame_id),
                    Ok(503) => tokio::time::sleep(Duration::from_secs(1)).await,
                    _ => {}
                }
            }
        });
    }

    // The quiet app: one frame every 100 ms, on its own keep-alive connection.
    let quiet_client = logdrain::client::http_client();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut quiet = Vec::new();
    let mut latencies = Vec::new();
    for i in 0..QUIET_FRAMES {
        ticker.tick().await;
        let started = Instant::now();
        let frame_id = format!("q{i}");
        let status = post_to(
            &quiet_client,
            &drain_url,
            "quiet",
            QUIET,
            &frame_id,
            body("quiet", 3),
        )
        .await;
        latencies.push(started.elapsed());
        quiet.push((frame_id, status));
    }
    stop.store(true, Relaxed);
    while flood.join_next().await.is_some() {}

    let unavailable = quiet.iter().filter(|(_, s)| *s == 503).count();
    let metrics = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    let metrics = metrics.text().await.expect("text");
    for line in metrics.lines().filter(|l| {
        l.starts_with("logdrain_app_admissions_total")
            || l.starts_with("logdrain_requests")
            || l.starts_with("logdrain_batch")
    }) {
        eprintln!("{line}");
    }
    drop(server);
    let p50 = percentile(&mut latencies, 0.50);
    let p99 = percentile(&mut latencies, 0.99);
    let flood_acked = flood_acked.lock().expect("lock").clone();
    eprintln!(
        "flood: {} frames acked; quiet: {unavailable} × 503, p50 {p50:?}, p99 {p99:?}",
        flood_acked.len()
    );
    assert_eq!(unavailable, 0, "{quiet:?}");
    assert!(quiet.iter().all(|(_, s)| *s == 204), "{quiet:?}");
    assert!(p99 < Duration::from_secs(1), "quiet p99 {p99:?}");
    assert!(
        !flood_acked.is_empty(),
        "the flood got some of its frames in"
    );

    // Every acknowledged frame of both apps is stored, once: all its lines and no more, and no
    // frame (acknowledged or not) is stored twice or in part.
    for (name, acked, lines) in [
        (
            "quiet",
            quiet.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(),
            3,
        ),
        ("noisy", flood_acked, FLOOD_LINES as i64),
    ] {
        let stored = stored_per_frame(&app, name).await;
        for frame_id in &acked {
            assert_eq!(stored.get(frame_id), Some(&lines), "{name} {frame_id}");
        }
        assert!(
            stored.values().all(|&n| n == lines),
            "{name}: a frame stored in part or twice"
        );
    }
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn five_hundred_connections_trickling_headers_are_closed_in_time_and_do_not_stop_a_sender() {
    const TRICKLERS: usize = 500;
    let app = TestApp::spawn().await;
    app.app_with_token("quiet", QUIET).await;

    // Each trickler sends a request line, then one header line a second, never the end of the
    // head; it reports how long after its first byte the server closed it.
    let mut tricklers = tokio::task::JoinSet::new();
    for i in 0..TRICKLERS {
        let addr = app.addr;
        tricklers.spawn(async move {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let first_byte = Instant::now();
            tcp.write_all(b"POST /logs HTTP/1.1\r\nHost: logdrain\r\n")
                .await
                .expect("first bytes");
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            let mut buf = [0u8; 256];
            loop {
                tokio::select! {
                    read = tcp.read(&mut buf) => {
                        if !matches!(read, Ok(n) if n > 0) {
                            return (i, first_byte.elapsed());
                        }
                    }
                    _ = tick.tick() => {
                        if tcp.write_all(format!("X-Slow-{i}: still going\r\n").as_bytes()).await.is_err() {
                            return (i, first_byte.elapsed());
                        }
                    }
                    _ = tokio::time::sleep(HEAD_TIMEOUT * 2) => return (i, HEAD_TIMEOUT * 2),
                }
            }
        });
    }

    // Meanwhile a well-behaved sender, on a new connection for every frame.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut statuses = Vec::new();
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < HEAD_TIMEOUT + Duration::from_secs(1) {
        ticker.tick().await;
        let status = post(
            &fresh,
            &app,
            "quiet",
            QUIET,
            &format!("w{i}"),
            body("ok", 2),
        )
        .await;
        statuses.push(status);
        i += 1;
    }
    assert!(statuses.len() > 50);
    assert!(statuses.iter().all(|&s| s == 204), "{statuses:?}");

    let mut slowest = Duration::ZERO;
    while let Some(done) = tricklers.join_next().await {
        let (i, open) = done.expect("trickler");
        slowest = slowest.max(open);
        // Within the deadline, give or take the scheduling of a busy test machine.
        assert!(
            open <= HEAD_TIMEOUT + Duration::from_millis(500),
            "trickler {i} stayed open {open:?}"
        );
    }
    eprintln!("slowest trickler closed after {slowest:?}");
    app.stop().await.expect("clean stop");
}
