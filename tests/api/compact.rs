//! The compact tier answers exactly like the rows it replaced: random lines (proptest) over
//! three past days and today, random queries through the real API before and after
//! maintenance compacts the past days, compared byte for byte (every page of every cursor
//! walk, which crosses from the hot day into the compact ones); every `raw` rebuilt exactly.

use crate::helpers::{basic, maintain, post_sample, sample_posts, TestApp};
use chrono::{DateTime, Duration as Days, Utc};
use logdrain::store::partitions::Policy;
use logdrain::store::Store;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::time::Duration;

mod lines;

use lines::{line_strategy, post_all, query_strategy, Gen, APPS};

const DRAIN: &str = "s3cr3t-t0ken";
const API: &str = "api-token-0123456789abcdef";

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(API)
        .send()
        .await
        .expect("get");
    let status = res.status().as_u16();
    let next = res
        .headers()
        .get("logdrain-next-cursor")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let body = res.text().await.expect("body");
    (status, format!("{}\n{}", next.unwrap_or_default(), body))
}

/// Every page of a `/logs` walk, following the cursor (at most 12 pages).
async fn walk(app: &TestApp, name: &str, query: &str) -> Vec<String> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..12 {
        let path = match &cursor {
            Some(c) => format!("/api/apps/{name}/logs?{query}&cursor={c}"),
            None => format!("/api/apps/{name}/logs?{query}"),
        };
        let (status, page) = get(app, &path).await;
        pages.push(format!("{status} {page}"));
        cursor = next_cursor(&page);
        if cursor.is_none() {
            break;
        }
    }
    pages
}

/// The next-page cursor of a text page (its header) or a JSON page (`next_cursor`),
/// percent-encoded for a query string.
fn next_cursor(page: &str) -> Option<String> {
    let (header, body) = page.split_once('\n')?;
    let cursor = if header.is_empty() {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        v["next_cursor"].as_str()?.to_owned()
    } else {
        header.to_owned()
    };
    Some(
        cursor
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect(),
    )
}

/// Every answer the read API gives on this data, as text.
async fn answers(
    app: &TestApp,
    queries: &[String],
    rids: &[String],
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    // Fixed bounds: aggregates echo them.
    let span = format!(
        "since={}&until={}",
        (now - Days::days(10)).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + Days::days(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    for name in APPS {
        for q in queries {
            out.push(format!("{name} {q}"));
            out.extend(walk(app, name, q).await);
        }
        for rid in rids.iter().take(6) {
            out.push(
                get(app, &format!("/api/apps/{name}/requests/{rid}"))
                    .await
                    .1,
            );
            out.push(
                get(app, &format!("/api/apps/{name}/requests/{rid}?format=text"))
                    .await
                    .1,
            );
        }
        out.push(tail_backfill(app, name, "format=ndjson", 40).await);
        out.push(tail_backfill(app, name, "kind=router&format=text", 25).await);
        out.push(cli_logs(app, &["logs", "-a", name, "-n", "300"]).await);
        out.push(
            cli_logs(
                app,
                &["logs", "-a", name, "-n", "50", "-d", "web", "-s", "app"],
            )
            .await,
        );
        for path in [
            "events?n=500",
            "stats/requests?by=path",
            "stats/requests?by=status",
            "stats/requests?by=hour",
            "stats/errors?",
            "metrics?bucket=1h",
            "loss?",
        ] {
            let sep = if path.ends_with('?') { "" } else { "&" };
            out.push(
                get(app, &format!("/api/apps/{name}/{path}{sep}{span}"))
                    .await
                    .1,
            );
        }
    }
    out
}

/// The back-fill of `/tail` (its first `n` lines), then the stream is dropped.
async fn tail_backfill(app: &TestApp, name: &str, query: &str, n: usize) -> String {
    let mut res = app
        .client
        .get(app.url(&format!("/api/apps/{name}/tail?n={n}&{query}")))
        .bearer_auth(API)
        .send()
        .await
        .expect("tail");
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while out.iter().filter(|&&b| b == b'\n').count() < n {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(bytes))) => out.extend_from_slice(&bytes),
            _ => break,
        }
    }
    assert!(!out.is_empty(), "tail printed no back-fill");
    String::from_utf8_lossy(&out).into_owned()
}

/// `logdrain logs` (the CLI client) against the server.
async fn cli_logs(app: &TestApp, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let url = app.url("");
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_logdrain"))
            .args(&args)
            .env("LOGDRAIN_URL", &url)
            .env("LOGDRAIN_TOKEN", API)
            .env_remove("DATABASE_URL")
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .expect("join")
}

async fn raws(store: &Store, table: &str) -> Vec<(i64, Vec<u8>)> {
    sqlx::query_as(&format!("SELECT id, raw FROM {table} ORDER BY id"))
        .fetch_all(store.pool())
        .await
        .expect("raws")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_days_answer_every_query_byte_for_byte() {
    // The test runs maintenance itself: the server's own run at start compacts nothing.
    let app = TestApp::spawn_with(&[
        "--api-token",
        API,
        "--maintenance-every",
        "1h",
        "--compact-after",
        "0s",
    ])
    .await;
    for name in APPS {
        app.app_with_token(name, DRAIN).await;
    }
    let now = Utc::now();
    // Today's lines fall before `now`, so none is in the future.
    let day0 = now - Days::days(1);
    let mut runner = TestRunner::default();
    let lines = proptest::collection::vec(line_strategy(), 700..900)
        .new_tree(&mut runner)
        .expect("lines")
        .current();
    let lines: Vec<Gen> = lines
        .into_iter()
        .map(|mut g| {
            if g.1 == 0 {
                g.2 %= 3_600_000_000; // the newest day: the hour before day0 + 1 h
            }
            g
        })
        .collect();
    post_all(&app, &lines, day0, "a").await;
    let rids: Vec<String> = (0..40u32)
        .map(|n| format!("{n:08x}-4e26-4a8e-a032-35a1e58e1b1c"))
        .collect();
    let queries: Vec<String> = (0..30)
        .map(|_| {
            query_strategy(rids.clone(), day0)
                .new_tree(&mut runner)
                .expect("query")
                .current()
        })
        .collect();

    // Strays get their partitions first; nothing is compacted yet.
    let rows_only = Policy {
        search_index: false,
        ..Policy::default()
    };
    maintain(&app.store, &rows_only, now).await;
    let before = answers(&app, &queries, &rids, now).await;
    let raw_before = raws(&app.store, "all_lines").await;

    let compact = Policy {
        compact_after: Some(Duration::from_secs(3600)),
        ..rows_only.clone()
    };
    let report = maintain(&app.store, &compact, now + Days::hours(2)).await;
    assert!(report.compacted.len() >= 3, "{report:?}");
    let hot: i64 = sqlx::query_scalar("SELECT count(*) FROM lines")
        .fetch_one(app.store.pool())
        .await
        .expect("count");
    let where_: Vec<(String, i64)> = sqlx::query_as(
        "SELECT tableoid::regclass::text || date_trunc('day', ts)::text, count(*) FROM lines GROUP BY 1 \
         UNION ALL SELECT name || coalesce(compacted_at::text, '-'), 0 FROM line_partitions ORDER BY 1",
    )
    .fetch_all(app.store.pool())
    .await
    .expect("where");
    assert!(
        hot < lines.len() as i64 / 3,
        "{hot} lines still rows: {where_:?} {report:?}"
    );

    let after = answers(&app, &queries, &rids, now).await;
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        let at = b.bytes().zip(a.bytes()).take_while(|(x, y)| x == y).count();
        assert_eq!(
            b,
            a,
            "an answer changed with compaction at byte {at}: {:?} vs {:?}",
            b.get(at.saturating_sub(80)..(at + 40).min(b.len())),
            a.get(at.saturating_sub(80)..(at + 40).min(a.len()))
        );
    }
    assert_eq!(
        raws(&app.store, "all_lines").await,
        raw_before,
        "raw rebuilt byte-exact"
    );
    // The chunks hold the odd lines' raw bytes only.
    let stored_raw: i64 =
        sqlx::query_scalar("SELECT count(r) FROM line_chunks, unnest(raw) r WHERE r IS NOT NULL")
            .fetch_one(app.store.pool())
            .await
            .expect("count");
    assert!(
        stored_raw < lines.len() as i64 / 4,
        "{stored_raw} raw stored"
    );

    // A late line for a compacted day lands in the default partition and is read with it.
    let late = vec![(0, 2, 5_000_000, 5u8, 4, 0, 3)];
    post_all(&app, &late, day0, "late").await;
    let (_, page) = get(
        &app,
        "/api/apps/shop/logs?q=zebra+slow&since=10d&n=500&format=text",
    )
    .await;
    assert!(page.contains("WARN zebra slow: 3ms"), "{page}");
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn sample_posts_keep_every_raw_byte_after_compaction() {
    let app = TestApp::spawn_with(&["--api-token", API, "--maintenance-every", "1h"]).await;
    // The README's psql examples name this app.
    app.app_with_token("acme-shop", DRAIN).await;
    let auth = basic("acme-shop", DRAIN);
    for post in sample_posts() {
        let status = post_sample(&app, &post, &auth).await.status();
        assert!(status.is_success(), "{}: {status}", post.name);
    }
    let now = Utc::now();
    maintain(&app.store, &Policy::default(), now).await;
    let before = raws(&app.store, "all_lines").await;
    assert!(before.len() > 50);
    let compact = Policy {
        compact_after: Some(Duration::from_secs(3600)),
        ..Policy::default()
    };
    let report = maintain(&app.store, &compact, now).await;
    assert!(!report.compacted.is_empty(), "{report:?}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM lines")
        .fetch_one(app.store.pool())
        .await
        .expect("count");
    assert_eq!(rows, 0, "the samples' days are all compact");
    assert_eq!(raws(&app.store, "all_lines").await, before);
    let span: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM lines_between('acme-shop', '2000-01-01', now() + interval '1 day')",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("lines_between");
    assert_eq!(span as usize, before.len());
    // Every psql example of the README runs on the compacted days.
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Reading the data with psql")
        .nth(1)
        .and_then(|s| s.split("```sql").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's psql block");
    let mut ran = 0;
    for statement in section.split(';').map(str::trim).filter(|s| {
        s.lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
    }) {
        sqlx::query(&statement.replace('…', "6762b34f-4e26-4a8e-a032-35a1e58e1b1c"))
            .fetch_all(app.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        ran += 1;
    }
    assert!(ran >= 6, "{ran} statements");
    app.stop().await.expect("stop");
}

/// q= tests a plain LIKE before the ILIKE when the term has enough characters that case
/// cannot change (src/store/read.rs, `push_term`): the lines found must be exactly those a
/// bare ILIKE finds, mixed case and characters that fold to ASCII letters included, on the
/// hot rows and again once the day is compact.
#[tokio::test]
async fn search_answers_exactly_what_ilike_answers_on_both_tiers() {
    use crate::helpers::{app_line, post_lines, QUICK_DRAIN};
    let app = TestApp::spawn_with(&["--api-token", API, "--drain-token", QUICK_DRAIN]).await;
    let texts = [
        "request_id=3f9a0b1c-77 done",
        "REQUEST_ID=3F9A0B1C-77 DONE",
        "Request_Id=3f9A0b1C-77 Done",
        "id 3f9a0b1c77 without the dash",
        "kelvin \u{212A}ey=3f9a-0b1c and dotted \u{130}d=12-34-56",
        "Key=3F9A-0B1C and id=12-34-56",
        "fullwidth \u{FF13}f9a0b1c-77 is not ascii",
        "at=error code=H12 desc=\"Request timeout\"",
        "AT=ERROR CODE=h12",
        "100% done_50_x\\y",
    ];
    let day_ago = |i: usize| Duration::from_secs(2 * 86_400 + 60 * i as u64);
    let lines: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| app_line(day_ago(i), t))
        .collect();
    post_lines(&app, "shop", &lines).await;
    let terms = [
        "3f9a0b1c-77",
        "key=3f9a-0b1c",
        "id=12-34-56",
        "at=error code=h12",
        "0% done_50",
        "_50_x\\y",
        "3F9A0B1C",
    ];
    let found = |term: &'static str| {
        let app = &app;
        async move {
            let q: String =
                form_urlencoded::byte_serialize(format!("\"{term}\"").as_bytes()).collect();
            let body = app
                .get_ok(
                    &format!("/api/apps/shop/logs?q={q}&since=10d&n=100&format=json"),
                    API,
                )
                .await;
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            let mut ids: Vec<i64> = v["lines"]
                .as_array()
                .expect("lines")
                .iter()
                .map(|l| {
                    let id = l["id"].as_str().expect("id");
                    id.parse::<i64>().expect("numeric id")
                })
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    let mut expected = Vec::new();
    for term in terms {
        let escaped = term
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM all_lines WHERE message ILIKE '%' || $1 || '%' ORDER BY id",
        )
        .bind(escaped)
        .fetch_all(app.store.pool())
        .await
        .expect("ilike");
        assert_eq!(found(term).await, ids, "hot rows, q={term}");
        expected.push(ids);
    }
    assert_eq!(expected[0].len(), 3, "the three spellings of one id");
    assert!(expected.iter().all(|ids| !ids.is_empty()));

    let compact = Policy {
        compact_after: Some(Duration::from_secs(3600)),
        ..Policy::default()
    };
    let report = maintain(&app.store, &compact, Utc::now()).await;
    assert!(!report.compacted.is_empty(), "{report:?}");
    for (term, ids) in terms.iter().zip(&expected) {
        assert_eq!(&found(term).await, ids, "compact tier, q={term}");
    }
    app.stop().await.expect("stop");
}
