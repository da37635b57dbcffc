//! The load driver's quiet app: while the main run floods the server as one app, a second app
//! sends one small frame every `--quiet-every` milliseconds on its own keep-alive connection,
//! as a low-traffic Heroku app does, and its latency and answers are reported. It shows what the
//! flood costs the server's other apps (the write queue's per-app shares and fair batches).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Who the quiet app is and how often it sends.
#[derive(Debug, Clone)]
pub struct QuietOptions {
    /// App name (Basic-auth user).
    pub app: String,
    /// Drain token (Basic-auth password).
    pub token: String,
    /// Interval between frames.
    pub every: Duration,
}

/// What the quiet app saw.
#[derive(Debug, Default)]
pub struct QuietReport {
    /// Latency of every request, answered or not.
    pub latencies: Vec<Duration>,
    /// Answers 204.
    pub ok: u64,
    /// Answers 503.
    pub unavailable: u64,
    /// Other statuses and transport errors.
    pub other: u64,
}

/// Sends a frame every `every` until `stop` is set; one attempt per frame, no retries, so
/// every 503 counts.
pub async fn run(url: String, o: QuietOptions, stop: Arc<AtomicBool>) -> QuietReport {
    let client = logdrain::client::http_client();
    let mut ticker = tokio::time::interval(o.every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut report = QuietReport::default();
    let nonce = std::process::id();
    let mut n = 0u64;
    while !stop.load(Relaxed) {
        ticker.tick().await;
        let msg =
            format!("<190>1 2026-11-01T10:00:00.000000+00:00 host app web.1 - quiet frame {n}\n");
        let started = Instant::now();
        let res = client
            .post(format!("{url}/logs"))
            .basic_auth(&o.app, Some(&o.token))
            .header("Content-Type", "application/logplex-1")
            .header("Logplex-Msg-Count", "1")
            .header("Logplex-Frame-Id", format!("quiet-{nonce}-{n}"))
            .body(format!("{} {msg}", msg.len()))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        report.latencies.push(started.elapsed());
        match res.map(|r| r.status().as_u16()) {
            Ok(204) => report.ok += 1,
            Ok(503) => report.unavailable += 1,
            _ => report.other += 1,
        }
        n += 1;
    }
    report.latencies.sort_unstable();
    report
}
