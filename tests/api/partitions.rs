//! Time partitions and retention end to end: lines POSTed with old and current timestamps,
//! maintenance run as of a given time (as the server's periodic task does), then the lines
//! read back through the query API and the partitions checked in the catalog.

use crate::helpers::{basic, maintain, TestApp};
use chrono::{DateTime, Duration as Days, Utc};
use logdrain::store::partitions::{DropReason, Policy, LOCK_KEY};
use logdrain::store::Store;
use serde_json::Value;
use std::time::Duration;

const DRAIN: &str = "s3cr3t-t0ken";
const API: &str = "api-token-0123456789abcdef";
const APP: &str = "shop";

async fn spawn() -> TestApp {
    // The periodic task runs at start and then hourly: the test runs maintenance itself.
    let app = TestApp::spawn_with(&["--api-token", API, "--maintenance-every", "1h"]).await;
    app.app_with_token(APP, DRAIN).await;
    app
}

/// POSTs one Logplex body with `n` lines stamped `ts`, each saying `word i`.
async fn post_at(app: &TestApp, ts: DateTime<Utc>, word: &str, n: usize) {
    let mut body = Vec::new();
    for i in 0..n {
        let m = format!(
            "<190>1 {} host app web.1 - {word} {i}\n",
            ts.format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        );
        body.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    post_body(app, body, n, &format!("{word}-{}", ts.timestamp_micros())).await;
}

/// POSTs one framed Logplex body of `n` messages as Logplex does, and expects it stored.
async fn post_body(app: &TestApp, body: Vec<u8>, n: usize, frame_id: &str) {
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic(APP, DRAIN))
        .header("Content-Type", "application/logplex-1")
        .header("Logplex-Msg-Count", n.to_string())
        .header("Logplex-Frame-Id", frame_id)
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204);
}

/// The messages `/logs` returns for these parameters (JSON format).
async fn messages(app: &TestApp, params: &str) -> Vec<String> {
    let res = app
        .client
        .get(app.url(&format!(
            "/api/apps/{APP}/logs?format=json&n=10000&{params}"
        )))
        .bearer_auth(API)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["message"].as_str().expect("message").to_owned())
        .collect()
}

async fn partition_names(store: &Store) -> Vec<String> {
    store
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .map(|p| p.name)
        .collect()
}

/// Partitions that really exist in the catalog (not only in line_partitions).
async fn catalog_partitions(store: &Store) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'lines'::regclass ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .expect("catalog")
}

fn day_name(t: DateTime<Utc>) -> String {
    format!("lines_p{}", t.format("%Y%m%d"))
}

async fn default_count(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM lines_default")
        .fetch_one(store.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn partitions_are_made_ahead_strays_move_in_and_age_retention_drops_whole_partitions() {
    let app = spawn().await;
    let now = Utc::now();

    // At start the server made yesterday's, today's and tomorrow's partitions.
    let names = partition_names(&app.store).await;
    for day in [now - Days::days(1), now, now + Days::days(1)] {
        assert!(names.contains(&day_name(day)), "{names:?} lacks {day}");
    }
    // Maintenance a day later makes the day after tomorrow, ahead of its first line.
    let no_index = Policy {
        search_index: false,
        ..Policy::default()
    };
    let report = maintain(&app.store, &no_index, now + Days::days(1)).await;
    assert_eq!(report.created, vec![day_name(now + Days::days(2))]);

    // Lines from 40, 20 and 10 days ago land in the default partition (no partition yet).
    post_at(&app, now - Days::days(40), "forty", 3).await;
    post_at(&app, now - Days::days(20), "twenty", 3).await;
    post_at(&app, now - Days::days(10), "ten", 3).await;
    post_at(&app, now, "today", 3).await;
    assert_eq!(default_count(&app.store).await, 9);

    // Maintenance gives each of those days a partition and moves the strays in; search
    // indexes go to sealed partitions of the last 15 days only.
    let recent_index = Policy {
        search_index_max_age: Some(Duration::from_secs(15 * 86_400)),
        ..Policy::default()
    };
    let report = maintain(&app.store, &recent_index, now).await;
    assert_eq!(report.strays_moved, 9);
    for d in [40, 20, 10] {
        assert!(
            report.created.contains(&day_name(now - Days::days(d))),
            "{report:?}"
        );
    }
    assert_eq!(default_count(&app.store).await, 0);
    assert_eq!(
        partition_names(&app.store).await,
        catalog_partitions(&app.store)
            .await
            .into_iter()
            .filter(|n| n != "lines_default")
            .collect::<Vec<_>>()
    );
    // Sealed partitions (their time is past) of the last 15 days got a trigram search index;
    // today's and older ones did not.
    for p in app.store.partitions().await.expect("partitions") {
        let sealed = p.to_ts <= now - Days::minutes(15) && p.to_ts > now - Days::days(15);
        assert_eq!(p.search_indexed_at.is_some(), sealed, "{}", p.name);
        let index: Option<String> = sqlx::query_scalar(
            "SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname LIKE '%_message_trgm'",
        )
        .bind(&p.name)
        .fetch_optional(app.store.pool())
        .await
        .expect("pg_indexes");
        assert_eq!(index.is_some(), sealed, "{}: {index:?}", p.name);
    }
    let all = messages(&app, "since=60d").await;
    assert_eq!(all.len(), 12);
    let recent_before = messages(&app, "since=30d").await;
    assert_eq!(recent_before.len(), 9);
    let searched_before = messages(&app, "since=30d&q=twenty").await;
    assert_eq!(searched_before.len(), 3);

    // 30 days of retention drops the 40-day-old partition whole and nothing else.
    let month = Policy {
        max_age: Some(Duration::from_secs(30 * 86_400)),
        ..Policy::default()
    };
    let report = maintain(&app.store, &month, now).await;
    assert_eq!(
        report.dropped,
        vec![(day_name(now - Days::days(40)), DropReason::Age)]
    );
    assert!(!catalog_partitions(&app.store)
        .await
        .contains(&day_name(now - Days::days(40))));
    // Queries spanning the remaining partitions return exactly what they did before.
    assert_eq!(messages(&app, "since=30d").await, recent_before);
    assert_eq!(messages(&app, "since=30d&q=twenty").await, searched_before);
    assert_eq!(messages(&app, "since=60d").await, recent_before);

    // A late line older than the retention period goes to the default partition and is
    // deleted by the next run, without a partition being made for it.
    post_at(&app, now - Days::days(45), "late", 2).await;
    let report = maintain(&app.store, &month, now).await;
    assert_eq!(report.strays_deleted, 2);
    assert!(report.created.is_empty(), "{report:?}");
    assert_eq!(messages(&app, "since=60d").await, recent_before);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn a_size_budget_drops_the_oldest_partitions_first_and_never_the_current_one() {
    let app = spawn().await;
    let now = Utc::now();
    for d in [5, 4, 3] {
        post_at(&app, now - Days::days(d), &format!("day{d}"), 200).await;
    }
    post_at(&app, now, "today", 5).await;
    maintain(&app.store, &Policy::default(), now).await;
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(app.store.pool())
        .await
        .expect("size");

    // Just under the current size: the oldest partition goes, and only it.
    let budget = Policy {
        max_db_bytes: Some(u64::try_from(size).expect("size") - 1),
        ..Policy::default()
    };
    let report = maintain(&app.store, &budget, now).await;
    assert_eq!(
        report.dropped,
        vec![(day_name(now - Days::days(5)), DropReason::Size)]
    );
    assert!(report.db_bytes < size);
    assert!(messages(&app, "since=10d&q=day5").await.is_empty());
    assert_eq!(messages(&app, "since=10d&q=day4").await.len(), 200);

    // A tiny budget drops every past partition, oldest first, keeps today's and says so.
    let tiny = Policy {
        max_db_bytes: Some(1 << 20),
        ..Policy::default()
    };
    let report = maintain(&app.store, &tiny, now).await;
    let dropped: Vec<&str> = report.dropped.iter().map(|(n, _)| n.as_str()).collect();
    let expected = [
        day_name(now - Days::days(4)),
        day_name(now - Days::days(3)),
        day_name(now - Days::days(1)),
    ];
    assert_eq!(
        dropped,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(report.warning.is_some(), "{report:?}");
    let names = partition_names(&app.store).await;
    assert!(names.contains(&day_name(now)), "{names:?}");
    assert!(names.contains(&day_name(now + Days::days(1))), "{names:?}");
    assert_eq!(messages(&app, "since=10d").await.len(), 5);

    // /readyz shows the policy and what the last run did.
    let ready: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["retention"]["partition_interval_seconds"], 86_400);
    assert_eq!(ready["storage"]["partitions"], names.len());
    let last = &ready["storage"]["last_maintenance"];
    assert!(
        last["warning"]
            .as_str()
            .is_some_and(|w| w.contains("budget")),
        "{ready}"
    );
    assert_eq!(last["dropped"].as_array().map(Vec::len), Some(3), "{ready}");
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn maintenance_runs_in_one_process_at_a_time() {
    let app = spawn().await;
    // Let the server's own first run finish.
    maintain(&app.store, &Policy::default(), Utc::now()).await;

    // While another session holds the lock, a run does nothing.
    let mut other = app.store.pool().acquire().await.expect("conn");
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut *other)
        .await
        .expect("lock");
    assert!(held);
    let skipped = app
        .store
        .maintain(&Policy::default(), Utc::now().timestamp_micros())
        .await
        .expect("maintain");
    assert!(!skipped.ran);
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *other)
        .await
        .expect("unlock");
    drop(other);

    // Eight "processes" (separate pools) asked at once to plan ten days ahead: every new
    // partition is created exactly once, with no error.
    let later = Utc::now() + Days::days(10);
    let mut runs = Vec::new();
    for _ in 0..8 {
        let store = Store::connect(
            &app.db_url,
            &logdrain::store::PoolSettings {
                max_connections: 2,
                acquire_timeout: Duration::from_secs(5),
            },
        )
        .await
        .expect("connect");
        runs.push(tokio::spawn(async move {
            store
                .maintain(&Policy::default(), later.timestamp_micros())
                .await
                .expect("maintain")
        }));
    }
    let mut created = Vec::new();
    for run in runs {
        let report = run.await.expect("task");
        assert!(report.errors.is_empty(), "{report:?}");
        created.extend(report.created);
    }
    let mut unique = created.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), created.len(), "{created:?}");
    for d in [9, 10, 11] {
        assert!(created.contains(&day_name(later - Days::days(10) + Days::days(d))));
    }
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn the_maintain_command_runs_once_and_says_what_it_did() {
    let app = spawn().await;
    let now = Utc::now();
    post_at(&app, now - Days::days(3), "old", 4).await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_logdrain"))
            .arg("maintain")
            .args(args)
            .env("DATABASE_URL", &app.db_url)
            .output()
            .expect("run logdrain maintain");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["--search-index", "false"]);
    assert!(ok, "{err}");
    let three_days_ago = day_name(now - Days::days(3));
    assert!(out.contains(&format!("created {three_days_ago}")), "{out}");
    assert!(out.contains("strays moved 4"), "{out}");
    let (ok, out, err) = run(&["--retention", "2d", "--search-index", "false"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("dropped {three_days_ago} (age)")),
        "{out}"
    );
    assert!(messages(&app, "since=10d&q=old").await.is_empty());
    // A bad setting stops it with the setting's name.
    let (ok, _, err) = run(&["--partition-interval", "5h"]);
    assert!(!ok);
    assert!(err.contains("LOGDRAIN_PARTITION_INTERVAL"), "{err}");
    app.stop().await.expect("stop");
}

/// Hot request ids are found through a BRIN index of Bloom filters (migration 0016): a lookup
/// reads every page autovacuum has not summarized yet, so maintenance summarizes what is left,
/// and the lookup answers the same before and after.
#[tokio::test]
async fn maintenance_summarizes_the_request_id_filters_of_hot_partitions() {
    let app = spawn().await;
    let now = Utc::now();
    let ts = now.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
    let rid = |i: usize| format!("5d1c0a7e-{:04x}-4b6f-9a3e-{i:012x}", i % 65536);
    // About 6,000 router lines: a few hundred heap pages, so a few dozen 16-page ranges.
    for post in 0..3 {
        let mut body = Vec::new();
        for i in post * 2000..(post + 1) * 2000 {
            let m = format!(
                "<158>1 {ts} host heroku router - at=info method=GET path=\"/items/{i}\" \
                 host=shop.herokuapp.com request_id={} fwd=\"10.0.0.1\" dyno=web.1 \
                 connect=1ms service={}ms status=200 bytes=512 protocol=https\n",
                rid(i),
                i % 97
            );
            body.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
        }
        post_body(&app, body, 2000, &format!("rid-{post}")).await;
    }
    let lookup = |id: String| {
        let app = &app;
        async move { messages(app, &format!("request_id={id}")).await }
    };
    let before = lookup(rid(4321)).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(before[0].contains("/items/4321\""), "{before:?}");

    // Enough pages for many ranges, most of them not summarized yet.
    let heap_pages: i64 = sqlx::query_scalar(&format!(
        "SELECT pg_relation_size('{}') / current_setting('block_size')::int8",
        day_name(now)
    ))
    .fetch_one(app.store.pool())
    .await
    .expect("pages");
    assert!(heap_pages >= 64, "only {heap_pages} heap pages");

    maintain(&app.store, &Policy::default(), now).await;
    // Whatever autovacuum did not summarize first, this run did: nothing is left.
    let left: Option<i64> = sqlx::query_scalar(
        "SELECT sum(brin_summarize_new_values(i.inhrelid))::int8 FROM pg_inherits i \
         WHERE i.inhparent = 'lines_app_request_id_bloom'::regclass",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("summarize");
    assert_eq!(left, Some(0), "maintenance left ranges unsummarized");

    // Every full range now has a summary that holds its ids: lookups answer as before, and
    // an id no line has answers nothing.
    for i in [0, 1999, 2000, 4321, 5999] {
        let found = lookup(rid(i)).await;
        assert_eq!(found.len(), 1, "request {i}: {found:?}");
        assert!(found[0].contains(&format!("/items/{i}\"")), "{found:?}");
    }
    assert!(lookup(rid(6000)).await.is_empty());
}
