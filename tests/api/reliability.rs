//! The promise under faults: every line of every frame Logplex was told is delivered (a 2xx)
//! is stored exactly once, and frames never acknowledged are absent or complete, never half.
//!
//! A driver posts generated frames the way Logplex does (keep-alive, several senders, up to 3
//! attempts per frame with the same Frame-Id on errors, timeouts, 5xx and 429) while the
//! server is SIGKILLed and restarted, or Postgres is stopped, restarted and locked.
//! The short versions run in `cargo test`; the long ones:
//!
//! ```sh
//! LOGDRAIN_RELIABILITY_KILLS=30 cargo test --release --test api reliability -- --nocapture
//! ```

use crate::helpers::{basic, free_port, own_cluster, wait_ready, TestApp};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DRAIN: &str = "s3cr3t-t0ken";
/// Lines in every generated frame.
const LINES: i64 = 50;
/// Logplex's attempts per frame.
const ATTEMPTS: usize = 3;

fn kills() -> usize {
    std::env::var("LOGDRAIN_RELIABILITY_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// What the driver saw for one frame.
struct Sent {
    frame_id: String,
    acked: bool,
}

/// One Logplex-like sender: frames of [`LINES`] lines, retried with the same Frame-Id.
async fn sender(
    url: String,
    id: u64,
    stop: Arc<AtomicBool>,
    slowest: Arc<std::sync::Mutex<Duration>>,
) -> Vec<Sent> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5)) // Logplex's request timeout
        .pool_idle_timeout(Duration::from_secs(300))
        .build()
        .expect("client");
    let mut corpus = logdrain::synth::Corpus::new(id);
    let mut sent = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut body = Vec::new();
        corpus.body(LINES as usize, &mut body);
        let frame_id = format!("{id:04X}{n:028X}");
        n += 1;
        let mut acked = false;
        for _ in 0..ATTEMPTS {
            let started = Instant::now();
            let res = client
                .post(&url)
                .header("Authorization", basic("heroku", DRAIN))
                .header("Content-Type", "application/logplex-1")
                .header("Logplex-Frame-Id", &frame_id)
                .header("Logplex-Msg-Count", LINES.to_string())
                .body(body.clone())
                .send()
                .await;
            if let Ok(r) = &res {
                let mut s = slowest.lock().expect("lock");
                *s = (*s).max(started.elapsed());
                if r.status().is_success() {
                    acked = true;
                    break;
                }
                assert!(
                    r.status().as_u16() == 429 || r.status().is_server_error(),
                    "a 4xx would make Logplex drop the frame: {}",
                    r.status()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sent.push(Sent { frame_id, acked });
    }
    sent
}

/// Runs `senders` senders until `stop`; returns every frame's outcome and the slowest answer.
fn start_driver(
    url: &str,
    senders: u64,
    stop: &Arc<AtomicBool>,
) -> (
    Vec<tokio::task::JoinHandle<Vec<Sent>>>,
    Arc<std::sync::Mutex<Duration>>,
) {
    let slowest = Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let handles = (0..senders)
        .map(|i| {
            tokio::spawn(sender(
                url.to_owned(),
                i,
                Arc::clone(stop),
                Arc::clone(&slowest),
            ))
        })
        .collect();
    (handles, slowest)
}

/// Checks exactly-once against the database and prints the figures.
async fn check_exactly_once(store: &logdrain::store::Store, sent: &[Sent], what: &str) {
    let rows: Vec<(Option<String>, i64)> =
        sqlx::query_as("SELECT frame_id, count(*) FROM all_lines GROUP BY frame_id")
            .fetch_all(store.pool())
            .await
            .expect("counts");
    let stored: HashMap<String, i64> = rows
        .into_iter()
        .filter_map(|(f, n)| f.map(|f| (f, n)))
        .collect();
    let acked: Vec<&Sent> = sent.iter().filter(|s| s.acked).collect();
    let mut lost = 0;
    let mut duplicated = 0;
    for s in &acked {
        match stored.get(&s.frame_id) {
            None => lost += LINES,
            Some(&n) if n < LINES => lost += LINES - n,
            Some(&n) if n > LINES => duplicated += n - LINES,
            _ => {}
        }
    }
    let partial = stored.values().filter(|&&n| n != LINES).count();
    let lines_checked: i64 = stored.values().sum();
    println!(
        "{what}: frames sent {}, acknowledged {}, lines checked {lines_checked}, duplicates {duplicated}, lost {lost}, partial frames {partial}",
        sent.len(),
        acked.len()
    );
    assert_eq!(lost, 0, "acknowledged lines lost");
    assert_eq!(duplicated, 0, "lines stored twice");
    assert_eq!(partial, 0, "a frame stored partly or more than once");
}

/// `logdrain serve` as a child process on a fixed port.
fn spawn_server(db_url: &str, port: u16) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_logdrain"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", db_url)
        .env_remove("LOGDRAIN_DRAIN_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_restart_under_load_loses_and_duplicates_nothing() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", DRAIN).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn_server(&app.db_url, port);
    wait_ready(&app.client, &base).await;

    let stop = Arc::new(AtomicBool::new(false));
    let (senders, _slowest) = start_driver(&format!("{base}/logs"), 4, &stop);
    let kills = kills();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(700)).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        tokio::time::sleep(Duration::from_millis(150)).await;
        child = spawn_server(&app.db_url, port);
        wait_ready(&app.client, &base).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for s in senders {
        sent.extend(s.await.expect("sender"));
    }
    child.kill().expect("kill");
    child.wait().expect("reap");
    println!("kills survived: {kills}");
    assert!(
        sent.iter().filter(|s| s.acked).count() > 10,
        "the load was real"
    );
    check_exactly_once(&app.store, &sent, "sigkill").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_restarted_and_locked_under_load_answers_503_fast_and_loses_nothing() {
    let (mut cluster, db_url) = own_cluster().await;
    let app = TestApp::spawn_on(&db_url, &["--ack-timeout", "3s", "--db-timeout", "1s"]).await;
    app.app_with_token("heroku", DRAIN).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (senders, slowest) = start_driver(&app.url("/logs"), 3, &stop);
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Stopped, then started again.
    cluster = tokio::task::spawn_blocking(move || {
        cluster.stop_server().expect("stop");
        std::thread::sleep(Duration::from_millis(1500));
        cluster.start_server().expect("start");
        cluster
    })
    .await
    .expect("task");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Slow: a held lock on the frame ledger stalls every writer for 4 s.
    let lock_url = db_url.clone();
    let mut conn = sqlx::PgConnection::connect(&lock_url)
        .await
        .expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut conn)
        .await
        .expect("begin");
    sqlx::query("LOCK TABLE frames IN ACCESS EXCLUSIVE MODE")
        .execute(&mut conn)
        .await
        .expect("lock");
    tokio::time::sleep(Duration::from_secs(4)).await;
    sqlx::query("COMMIT")
        .execute(&mut conn)
        .await
        .expect("commit");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    stop.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for s in senders {
        sent.extend(s.await.expect("sender"));
    }
    let slowest = *slowest.lock().expect("lock");
    println!("postgres outage: slowest answer {slowest:?}");
    assert!(
        slowest < Duration::from_secs(5),
        "every answer within Logplex's 5 s: {slowest:?}"
    );
    assert_eq!(app.readyz_status().await, 200, "recovered by itself");
    check_exactly_once(&app.store, &sent, "postgres outage").await;
    assert!(sent.iter().any(|s| !s.acked) || sent.len() > 10);
    app.stop().await.expect("stop");
    let _ = tokio::task::spawn_blocking(move || cluster.shutdown()).await;
}

use sqlx::Connection as _;
