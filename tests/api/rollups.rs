//! Rollups: /stats/requests (every by=, with and without status=), /stats/errors (with and
//! without buckets) and /metrics answer byte for byte what
//! the same reads over every line answer, for random ranges, before and after maintenance
//! merges the rows, after the sealed days are compacted and after the minute rows by key
//! older than their keep are deleted; a retried frame adds nothing; the migration's SQL
//! backfill computes the rows the ingest path writes; a dropped partition takes its rollups
//! with it.

use crate::helpers::{basic, maintain, serve_config, TestApp};
use logdrain::store::partitions::Policy;
use std::time::Duration;

const DRAIN: &str = "s3cr3t-t0ken";
const API: &str = "api-token-0123456789abcdef";

/// A tiny deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// One generated line at `ts_us`: router lines (some erroring, some without service=),
/// coded system lines and runtime metrics.
fn line(rng: &mut Rng, ts_us: i64) -> String {
    let ts = rfc3339(ts_us);
    match rng.below(20) {
        0 => format!(
            "<45>1 {ts} host heroku web.{} - source=web.{0} dyno=heroku.1.abc \
             sample#memory_total={}.{:02}MB sample#memory_rss=100.5MB sample#load_avg_1m=0.{}",
            1 + rng.below(2),
            100 + rng.below(400),
            rng.below(100),
            rng.below(100)
        ),
        1 => format!("<45>1 {ts} host heroku web.1 - Error R14 (Memory quota exceeded)"),
        2 => format!(
            "<158>1 {ts} host heroku router - at=error code=H12 desc=\"Request timeout\" \
             method=GET path=\"/slow\" host=shop.example request_id=e{} fwd=\"1.2.3.4\" \
             dyno=web.1 connect=1ms service=30000ms status=503 bytes=0 protocol=https",
            rng.next()
        ),
        3 => format!(
            "<158>1 {ts} host heroku router - at=info method=GET path=\"/nosvc\" host=shop.example \
             request_id=n{} fwd=\"1.2.3.4\" dyno=web.2 status=200 protocol=https",
            rng.next()
        ),
        4 => format!("<190>1 {ts} host app web.1 - Completed 200 OK"),
        // A router line with no status at all: no status range counts it.
        5 => format!(
            "<158>1 {ts} host heroku router - at=error code=H27 desc=\"Client Request Interrupted\" \
             method=POST path=\"/upload\" host=shop.example request_id=h{} fwd=\"1.2.3.4\" \
             dyno=web.1 connect=0ms service={}ms protocol=https",
            rng.next(),
            rng.below(40)
        ),
        _ => {
            let path = rng.pick(&["/items/1", "/items/22", "/health", "/api/v1/orders/9", "/"]);
            let status = rng.pick(&["200", "200", "200", "304", "404", "500", "502"]);
            format!(
                "<158>1 {ts} host heroku router - at=info method={} path=\"{path}?q={}\" \
                 host={} request_id=r{} fwd=\"1.2.3.4\" dyno=web.{} connect=0ms service={}ms \
                 status={status} bytes={} protocol=https",
                rng.pick(&["GET", "POST", "HEAD"]),
                rng.below(9),
                rng.pick(&["shop.example", "api.example"]),
                rng.next(),
                1 + rng.below(3),
                rng.below(30) * rng.below(30),
                rng.below(5000)
            )
        }
    }
}

async fn post(app: &TestApp, lines: &[String], frame_id: Option<&str>) {
    let mut body = Vec::new();
    for m in lines {
        body.extend_from_slice(format!("{} {m}\n", m.len() + 1).as_bytes());
    }
    let mut req = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic("shop", DRAIN))
        .header("Content-Type", "application/logplex-1");
    if let Some(f) = frame_id {
        req = req.header("Logplex-Frame-Id", f);
    }
    let res = req.body(body).send().await.expect("post");
    assert_eq!(res.status(), 204);
}

async fn body(app: &TestApp, path: &str) -> String {
    app.get_ok(path, API).await
}

/// Posts `n` generated lines spread over `[from_us, to_us)` in bodies of 50 (one batch row set
/// each), with frame ids.
async fn load(app: &TestApp, rng: &mut Rng, n: usize, from_us: i64, to_us: i64) {
    let lines: Vec<String> = (0..n)
        .map(|_| {
            let ts = from_us + (rng.next() % (to_us - from_us) as u64) as i64;
            line(rng, ts)
        })
        .collect();
    for (i, chunk) in lines.chunks(50).enumerate() {
        post(app, chunk, Some(&format!("f-{from_us}-{i}"))).await;
    }
}

/// Every aggregate URL for a range, to be compared between the two servers.
fn urls(since: &str, until: &str) -> Vec<String> {
    let base = "/api/apps/shop";
    let r = format!("since={since}&until={until}");
    let mut out: Vec<String> = ["path", "status", "dyno", "method", "host", "minute", "hour"]
        .iter()
        .map(|by| format!("{base}/stats/requests?by={by}&limit=100000&{r}"))
        .collect();
    // The overview's charts: requests per status class, by minute and by hour.
    for by in ["minute", "hour"] {
        for status in ["300-399", "4xx", "500-599", "200", "100-999"] {
            out.push(format!(
                "{base}/stats/requests?by={by}&status={status}&limit=100000&{r}"
            ));
        }
    }
    out.push(format!("{base}/stats/errors?{r}"));
    for bucket in ["1s", "90s", "1m", "1h", "1d"] {
        out.push(format!("{base}/metrics?bucket={bucket}&{r}"));
        out.push(format!("{base}/stats/errors?bucket={bucket}&{r}"));
    }
    out
}

/// A server over the same database whose aggregates read every line.
async fn reference(app: &TestApp, flags: &[&str]) -> TestApp {
    let store = app.store.clone().with_rollup_reads(false);
    TestApp::spawn_with_store(&app.db_url, serve_config(&app.db_url, flags), store).await
}

async fn assert_same_answers(app: &TestApp, lines_only: &TestApp, ranges: &[(i64, i64)]) {
    for &(a, b) in ranges {
        for url in urls(&rfc3339(a), &rfc3339(b)) {
            let got = body(app, &url).await;
            let want = body(lines_only, &url).await;
            assert_eq!(got, want, "{url}");
        }
    }
}

#[tokio::test]
async fn aggregates_from_rollups_answer_exactly_what_the_lines_answer() {
    let app = TestApp::spawn_with(&["--api-token", API]).await;
    app.app_with_token("shop", DRAIN).await;
    let lines_only = reference(&app, &["--api-token", API]).await;
    let mut rng = Rng(0x5eed_1234_abcd);
    let now = chrono::Utc::now().timestamp_micros();
    const H: i64 = 3_600_000_000;
    // Nine days of lines (4-day rows are read whole), denser in the last two hours.
    load(&app, &mut rng, 1500, now - 9 * 24 * H, now).await;
    load(&app, &mut rng, 500, now - 2 * H, now).await;
    // Batches write minute rows only; a day holds what its day rows and its unmerged minute
    // rows hold together (none of the former before the first merge).
    let sums: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM lines WHERE kind = 'router'), \
                (SELECT sum(count)::int8 FROM request_rollups WHERE span_secs = 60 AND dim = 'all' \
                 AND NOT merged), \
                (SELECT count(*) FROM request_rollups WHERE span_secs > 60)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(sums.0, sums.1, "every router line counted once");
    assert_eq!(sums.2, 0, "no coarse row before a merge");

    let mut ranges = vec![
        (now - 10 * 24 * H, now + H),
        (now - 80 * H, now + H),
        (now - 24 * H, now),
        (now - 30 * 24 * H, now),
        (now - 2 * H + 17_000_123, now - H + 3_999_999),
    ];
    for _ in 0..6 {
        let a = now - 75 * H + (rng.next() % (76 * H) as u64) as i64;
        let len = (rng.next() % (30 * H) as u64) as i64;
        ranges.push((a, a + len));
    }
    // Aligned to whole minutes, hours and days.
    let day = 24 * H;
    ranges.push((now - now % day - day, now - now % day));
    ranges.push((now - now % H - 5 * H, now - now % 60_000_000));
    // Starting before the keyed minute horizon (1 day), with sub-hour edges there.
    ranges.push((now - 8 * day + 1_234_567_890, now - 3 * H + 777_000_000));
    ranges.push((
        now - 9 * day + 2 * H + 2_700_000_000,
        now - 7 * day - 3 * H + 600_000_000,
    ));

    assert_same_answers(&app, &lines_only, &ranges).await;
    // Maintenance merges the rows batches added and builds the coarse rows from them; the
    // answers do not move.
    let merged = app.store.merge_rollups().await.unwrap();
    assert!(merged > 0, "batches added rows to merge");
    let days: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(count)::int8 FROM request_rollups WHERE span_secs = 86400 AND dim = 'all'), \
                (SELECT count(*) FROM request_rollups WHERE NOT merged)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(days, (sums.0, 0), "day rows hold every router line once");
    assert_same_answers(&app, &lines_only, &ranges).await;
    // Late lines into merged buckets, read before the next merge: their unmerged minute rows
    // are added to the coarse rows' answer; then merged into them.
    load(&app, &mut rng, 200, now - 9 * 24 * H, now).await;
    assert_same_answers(&app, &lines_only, &ranges).await;
    app.store.merge_rollups().await.unwrap();
    assert_same_answers(&app, &lines_only, &ranges).await;

    // Every sealed day compacted: the edges of the ranges are read from chunks now, and the
    // answers still do not move.
    let compact = Policy {
        compact_after: Some(Duration::from_secs(3600)),
        search_index: false,
        ..Policy::default()
    };
    let report = maintain(&app.store, &compact, chrono::Utc::now()).await;
    assert!(report.compacted.len() >= 8, "{report:?}");
    let sums: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM all_lines WHERE kind = 'router'), \
                (SELECT count(*) FROM lines WHERE kind = 'router'), \
                (SELECT sum(count)::int8 FROM request_rollups WHERE span_secs = 86400 AND dim = 'all')",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        sums.0, sums.2,
        "every router line still there once: {sums:?}"
    );
    assert_same_answers(&app, &lines_only, &ranges).await;

    // Maintenance (the server's at start, then the runs above) published the keyed minute
    // horizon (LOGDRAIN_KEYED_MINUTES_KEEP, 1 day) and deleted the minute rows by path, dyno,
    // method and host below it; one more run changes nothing. Reads by those keys take their
    // sub-hour edges there from the lines, and answer the same (the comparisons above ran
    // after the deletion too).
    maintain(&app.store, &compact, chrono::Utc::now()).await;
    let (horizon,): (Option<chrono::DateTime<chrono::Utc>>,) =
        sqlx::query_as("SELECT keyed_minutes_from FROM rollup_horizon")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    let horizon = horizon.expect("a horizon is published").timestamp_micros();
    assert!(
        horizon > now - 2 * day && horizon <= now - day,
        "horizon {horizon}"
    );
    let (left, kept, hours): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE span_secs = 60 AND dim IN ('route', 'dyno', 'method', 'host')), \
                count(*) FILTER (WHERE span_secs = 60 AND dim IN ('all', 'status')), \
                count(*) FILTER (WHERE span_secs = 3600 AND dim = 'route') \
         FROM request_rollups WHERE bucket < (SELECT keyed_minutes_from FROM rollup_horizon)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(left, 0, "keyed minute rows below the horizon");
    assert!(
        kept > 0 && hours > 0,
        "by=minute and hour rows stay: {kept}, {hours}"
    );
    assert_same_answers(&app, &lines_only, &ranges).await;
    lines_only.stop().await.unwrap();
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_retried_frame_adds_nothing_to_the_rollups() {
    let app = TestApp::spawn_with(&["--api-token", API]).await;
    app.app_with_token("shop", DRAIN).await;
    let mut rng = Rng(99);
    let now = chrono::Utc::now().timestamp_micros();
    let lines: Vec<String> = (0..40).map(|_| line(&mut rng, now - 1_000_000)).collect();
    post(&app, &lines, Some("frame-1")).await;
    post(&app, &lines, Some("frame-1")).await;
    let (router, counted, coded, code_rows): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM lines WHERE kind = 'router'), \
                (SELECT COALESCE(sum(count), 0)::int8 FROM request_rollups \
                 WHERE span_secs = 60 AND dim = 'route'), \
                (SELECT count(*) FROM lines WHERE code IS NOT NULL), \
                (SELECT COALESCE(sum(count), 0)::int8 FROM code_rollups WHERE span_secs = 60)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(router, counted);
    assert_eq!(coded, code_rows);
    // The merge adds them to the coarse rows once.
    app.store.merge_rollups().await.unwrap();
    let (hour_routes, hour_codes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COALESCE(sum(count), 0)::int8 FROM request_rollups \
                 WHERE span_secs = 3600 AND dim = 'route'), \
                (SELECT COALESCE(sum(count), 0)::int8 FROM code_rollups WHERE span_secs = 3600)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!((hour_routes, hour_codes), (router, coded));
    assert!(router > 0 && router < 40);
    app.stop().await.unwrap();
}

/// The rollup tables as sorted text, merged; histograms as (value, count) pairs, whichever
/// form a row stores.
async fn snapshot(app: &TestApp) -> Vec<String> {
    app.store.merge_rollups().await.unwrap();
    sqlx::query_scalar(
        "SELECT t FROM ( \
           SELECT format('%s', r) AS t FROM (SELECT app_id, span_secs, bucket, dim, key, count, \
             errors, bytes, h.ms, h.ms_count FROM request_rollups, LATERAL ( \
               SELECT array_agg(v ORDER BY v) AS ms, array_agg(k ORDER BY v) AS ms_count \
               FROM (SELECT v, sum(COALESCE(k, 1)) AS k FROM unnest(ms, ms_count) AS u(v, k) \
                     GROUP BY v) p) h) r \
           UNION ALL SELECT format('%s', c) FROM (SELECT app_id, span_secs, bucket, code, \"desc\", \
             count, first_seen, last_seen FROM code_rollups) c \
           UNION ALL SELECT format('%s', m) FROM (SELECT app_id, span_secs, bucket, dyno, samples, \
             sums FROM metric_rollups) m \
         ) x ORDER BY t",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sql_backfill_computes_the_rows_ingest_writes() {
    let app = TestApp::spawn_with(&["--api-token", API]).await;
    app.app_with_token("shop", DRAIN).await;
    let mut rng = Rng(7);
    let now = chrono::Utc::now().timestamp_micros();
    load(&app, &mut rng, 600, now - 50 * 3_600_000_000, now).await;
    let written = snapshot(&app).await;
    assert!(written.len() > 100);
    // Ingest and the merge wrote both forms of histogram (multisets where smaller).
    let (multisets, counted): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE ms_count IS NULL), count(ms_count) FROM request_rollups",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert!(multisets > 0 && counted > 0, "{multisets} {counted}");
    sqlx::raw_sql(
        "DELETE FROM request_rollups; DELETE FROM code_rollups; DELETE FROM metric_rollups; \
         SELECT logdrain_rollup_lines('-infinity', 'infinity');",
    )
    .execute(app.store.pool())
    .await
    .unwrap();
    assert_eq!(snapshot(&app).await, written);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_dropped_partition_takes_its_rollups_and_the_rest_stays_exact() {
    let flags = ["--api-token", API, "--partition-interval", "1h"];
    let app = TestApp::spawn_with(&flags).await;
    app.app_with_token("shop", DRAIN).await;
    let lines_only = reference(&app, &flags).await;
    let mut rng = Rng(42);
    let now = chrono::Utc::now().timestamp_micros();
    const H: i64 = 3_600_000_000;
    load(&app, &mut rng, 800, now - 30 * H, now).await;
    // Hourly partitions for every slot the lines fall in, then retention of 20 hours: the
    // older hours go, and with them their minute rows and their share of hour and day rows.
    let policy = Policy {
        interval: Duration::from_secs(3600),
        search_index: false,
        ..Policy::default()
    };
    let now_utc = chrono::DateTime::from_timestamp_micros(now).expect("now");
    maintain(&app.store, &policy, now_utc).await;
    let kept = Policy {
        max_age: Some(Duration::from_secs(20 * 3600)),
        ..policy
    };
    let report = maintain(&app.store, &kept, now_utc).await;
    assert!(!report.dropped.is_empty(), "old hours dropped");
    let (old_rows,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM request_rollups WHERE bucket + make_interval(secs => span_secs) \
         <= (SELECT min(from_ts) FROM line_partitions)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(old_rows, 0, "no rollups left for dropped hours");
    let ranges = [(now - 40 * H, now + H), (now - 22 * H + 5_000_000, now - H)];
    assert_same_answers(&app, &lines_only, &ranges).await;
    lines_only.stop().await.unwrap();
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_metrics_bucket_is_the_exact_sum_of_its_samples_over_their_count_across_pieces() {
    let app = TestApp::spawn_with(&["--api-token", API]).await;
    app.app_with_token("shop", DRAIN).await;
    const M: i64 = 60_000_000;
    let now = chrono::Utc::now().timestamp_micros();
    let minute = now - now.rem_euclid(M) - 10 * M;
    let sample = |at: i64, total: &str| {
        format!(
            "<45>1 {} host heroku web.1 - source=web.1 dyno=heroku.1.abc \
             sample#memory_total={total}MB sample#load_avg_1m=0.07",
            rfc3339(at)
        )
    };
    let url = format!(
        "/api/apps/shop/metrics?bucket=60s&since={}&until={}",
        rfc3339(minute - 5 * M),
        rfc3339(minute + 5 * M)
    );
    let mean = |body: &str| -> (Option<f64>, Option<f64>) {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let p = v["dynos"]["web.1"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["ts"] == rfc3339(minute))
            .cloned()
            .unwrap_or_default();
        (p["memory_total"].as_f64(), p["memory_rss"].as_f64())
    };
    // Two batches: two unmerged minute rows of one bucket.
    post(
        &app,
        &[
            sample(minute + M / 4, "100.10"),
            sample(minute + M / 2, "200.20"),
        ],
        None,
    )
    .await;
    post(&app, &[sample(minute + 3 * M / 4, "300.33")], None).await;
    // 600.63 exactly, then one division: not (100.1 + 200.2 + 300.33) added as floats.
    assert_eq!(mean(&body(&app, &url).await), (Some(600.63 / 3.0), None));
    // Merged into one row, and a late line beside it: the rows of the bucket still add up.
    app.store.merge_rollups().await.unwrap();
    post(&app, &[sample(minute + M / 8, "99.37")], None).await;
    assert_eq!(mean(&body(&app, &url).await), (Some(175.0), None));
    // A range that starts inside the minute reads part of it from the lines: the lines in it.
    let inside = format!(
        "/api/apps/shop/metrics?bucket=60s&since={}&until={}",
        rfc3339(minute + M / 3),
        rfc3339(minute + 5 * M)
    );
    assert_eq!(mean(&body(&app, &inside).await), (Some(500.53 / 2.0), None));
    app.stop().await.unwrap();
}
