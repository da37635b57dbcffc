//! Compaction interrupted at any moment loses nothing and duplicates nothing: `logdrain
//! maintain` SIGKILLed at growing delays, then Postgres restarted under a running compaction;
//! after each interruption, and after the compaction finally completes, every line (id, raw,
//! message, every column) reads back exactly once, and the API pages the same.

use crate::helpers::maintain;
use crate::helpers::{basic, own_cluster, TestApp};
use chrono::{Duration as Days, Utc};
use logdrain::store::partitions::Policy;
use logdrain::store::Store;
use std::process::{Command, Stdio};
use std::time::Duration;

const DRAIN: &str = "s3cr3t-t0ken";
const API: &str = "api-token-0123456789abcdef";

/// A digest of every line of both tiers, with how many there are.
async fn digest(store: &Store) -> (i64, String) {
    try_digest(store).await.expect("digest")
}

async fn try_digest(store: &Store) -> Result<(i64, String), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), md5(string_agg(concat_ws('|', id, app_id, ts, received_at, pri, \
         source, dyno, kind, level, encode(raw, 'hex'), message, tags, fields, frame_id, status, \
         service_ms, bytes, path, request_id, code, parts, continued), ',' ORDER BY id)) \
         FROM all_lines",
    )
    .fetch_one(store.pool())
    .await
}

async fn compacted(store: &Store) -> usize {
    store
        .partitions()
        .await
        .expect("partitions")
        .iter()
        .filter(|p| p.compacted_at.is_some())
        .count()
}

/// Three past days of lines: some POSTed, most written straight into their partitions so that
/// one compaction takes long enough to be interrupted.
async fn load(app: &TestApp) {
    app.app_with_token("shop", DRAIN).await;
    let now = Utc::now();
    let mut body = Vec::new();
    for i in 0..50 {
        let ts = now - Days::days(2) - Days::minutes(i);
        let m = format!(
            "<190>1 {} host app web.1 - posted line {i} \u{1b}[1mbold\n",
            ts.format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        );
        body.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic("shop", DRAIN))
        .header("Content-Type", "application/logplex-1")
        .header("Logplex-Msg-Count", "50")
        .header("Logplex-Frame-Id", "crash-1")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204);
    maintain(&app.store, &Policy::default(), now).await;
    sqlx::query(
        "INSERT INTO lines (app_id, ts, received_at, pri, source, dyno, kind, level, message, raw, \
           status, service_ms, path, request_id) \
         SELECT a.id, now() - interval '4 days' + g * interval '4 seconds', now(), 158, 'heroku', \
           'router', 'router', 6, m, convert_to(m || E'\\n', 'UTF8'), 200, g % 300, '/p/' || g % 50, \
           md5(g::text) \
         FROM apps a, generate_series(1, 60000) g, \
           LATERAL (SELECT 'at=info method=GET path=\"/p/' || g % 50 || '\" request_id=' \
                    || md5(g::text) || ' status=200 service=' || g % 300 || 'ms' AS m) x \
         WHERE a.name = 'shop'",
    )
    .execute(app.store.pool())
    .await
    .expect("insert");
    // The bulk insert stamped its lines four days back: give those slots partitions too.
    maintain(&app.store, &Policy::default(), now).await;
}

async fn first_page(app: &TestApp) -> String {
    app.client
        .get(app.url("/api/apps/shop/logs?n=300&since=7d&format=text"))
        .bearer_auth(API)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_database_restart_during_compaction_lose_and_duplicate_nothing() {
    let (mut cluster, db_url) = own_cluster().await;
    let flags = [
        "--api-token",
        API,
        "--maintenance-every",
        "1h",
        "--compact-after",
        "0s",
    ];
    let app = TestApp::spawn_on(&db_url, &flags).await;
    load(&app).await;
    let expected = digest(&app.store).await;
    assert!(expected.0 > 60_000);
    let page = first_page(&app).await;

    // `logdrain maintain` killed at growing delays: some before, some during, some maybe after
    // a partition's swap.
    for delay_ms in [30u64, 120, 250, 400, 700, 1000] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_logdrain"))
            .args([
                "maintain",
                "--search-index",
                "false",
                "--compact-after",
                "1h",
            ])
            .env("DATABASE_URL", &db_url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        assert_eq!(
            digest(&app.store).await,
            expected,
            "after a kill at {delay_ms} ms"
        );
    }
    println!("compacted after the kills: {}", compacted(&app.store).await);

    // Postgres stopped under a compaction run by the server's own code, then started again.
    let store = app.store.clone();
    let policy = Policy {
        search_index: false,
        compact_after: Some(Duration::from_secs(3600)),
        ..Policy::default()
    };
    let run = tokio::spawn({
        let policy = policy.clone();
        async move { store.maintain(&policy, Utc::now().timestamp_micros()).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop_server().expect("stop");
        cluster.start_server().expect("start");
        cluster
    })
    .await
    .expect("task");
    let _ = run.await.expect("task");
    let mut after_restart = None;
    for _ in 0..40 {
        if let Ok(d) = try_digest(&app.store).await {
            after_restart = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(after_restart, Some(expected.clone()), "after a restart");

    // Then compaction runs to its end: every past day compact, every line still there once.
    maintain(&app.store, &policy, Utc::now()).await;
    assert!(compacted(&app.store).await >= 3);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM lines")
        .fetch_one(app.store.pool())
        .await
        .expect("count");
    assert_eq!(rows, 0);
    assert_eq!(digest(&app.store).await, expected);
    assert_eq!(first_page(&app).await, page);
    app.stop().await.expect("stop");
    tokio::task::spawn_blocking(move || cluster.shutdown())
        .await
        .ok();
}
