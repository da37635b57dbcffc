//! Alert evaluation cost on an existing benchmark database (the one `cargo bench --bench query`
//! keeps with KEEP_DB=1): each kind's value query timed alone, then whole rounds of many rules
//! through the real evaluator, as of the newest line in the database. A trivial round trip
//! (`SELECT 1`) is timed in the same run as the baseline.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/logdrain_query_bench_NNNN cargo bench --bench alerts
//! RUNS=50 RULES=200 …                # value queries per rule, rules in the round test
//! ```

use anyhow::Context as _;
use logdrain::alerts::rule::{parse_filter, validate_config};
use logdrain::alerts::{Evaluator, RuleSpec, Settings};
use logdrain::store::{PoolSettings, Store};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(run())
}

/// Representative rules: the README's examples, and the same over an hour.
const RULES: &[(&str, &str)] = &[
    (
        "count 5xx, 5m",
        "kind = \"count\"\nfilter = \"status=5xx\"\nthreshold = 10\nwindow = \"5m\"",
    ),
    (
        "count H12, 5m",
        "kind = \"count\"\nfilter = \"code=H12\"\nthreshold = 5\nwindow = \"5m\"",
    ),
    (
        "count level≥error, 1h",
        "kind = \"count\"\nfilter = \"level=error\"\nthreshold = 100\nwindow = \"1h\"",
    ),
    (
        "rate 5xx, 5m",
        "kind = \"rate\"\nfilter = \"status=5xx\"\nthreshold = 0.02\nwindow = \"5m\"",
    ),
    (
        "rate 5xx, 1h",
        "kind = \"rate\"\nfilter = \"status=5xx\"\nthreshold = 0.02\nwindow = \"1h\"",
    ),
    (
        "latency p95 path, 5m",
        "kind = \"latency\"\nfilter = \"path=/api/v1/cart\"\nthreshold = 800\nwindow = \"5m\"",
    ),
    (
        "latency p95 all, 1h",
        "kind = \"latency\"\nthreshold = 800\nwindow = \"1h\"",
    ),
    (
        "absence worker.1, 10m",
        "kind = \"absence\"\nfilter = \"dyno=worker.1\"\nwindow = \"10m\"",
    ),
    (
        "absence never seen, 10m",
        "kind = \"absence\"\nfilter = \"dyno=clock.1\"\nwindow = \"10m\"",
    ),
    ("loss, 5m", "kind = \"loss\"\nwindow = \"5m\""),
    ("loss, 1h", "kind = \"loss\"\nwindow = \"1h\""),
];

fn spec(i: usize, body: &str) -> anyhow::Result<RuleSpec> {
    toml::from_str(&format!("name = \"bench-{i}\"\napp = \"bench\"\n{body}")).context("bench rule")
}

fn p(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

async fn run() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .context("DATABASE_URL: a database built by `KEEP_DB=1 cargo bench --bench query`")?;
    let runs = env_usize("RUNS", 30);
    let round_rules = env_usize("RULES", 110);
    let store = Store::connect(
        &url,
        &PoolSettings {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(30),
        },
    )
    .await?;
    store.migrate().await?;
    let app_id = store
        .app_by_name("bench")
        .await?
        .context("no app `bench`: not a query-bench database")?
        .id;
    let (lines, newest): (i64, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT count(*), max(ts) FROM lines")
            .fetch_one(store.pool())
            .await?;
    // Rounds happen "now": as of the newest line, so the windows hold the busiest minutes.
    let now_us = newest.timestamp_micros() + 1_000_000;
    println!("alerts: {lines} lines, evaluated as of {newest}");

    let mut baseline = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        store.ping().await;
        baseline.push(t.elapsed());
    }
    baseline.sort();
    let base = p(&baseline, 0.5);
    println!();
    println!("| rule | value | p50 | p95 | p50 ÷ SELECT 1 |");
    println!("|---|---|---|---|---|");
    println!(
        "| `SELECT 1` round trip (baseline) | | {:.2?} | {:.2?} | 1 |",
        base,
        p(&baseline, 0.95)
    );
    let specs: Vec<RuleSpec> = RULES
        .iter()
        .enumerate()
        .map(|(i, (_, body))| spec(i, body))
        .collect::<anyhow::Result<_>>()?;
    let rules = validate_config(specs).map_err(anyhow::Error::msg)?;
    let mut mean_per_rule = Duration::ZERO;
    for ((name, _), rule) in RULES.iter().zip(&rules) {
        let filter = parse_filter(&rule.filter)?;
        let mut times = Vec::with_capacity(runs);
        let mut value = None;
        for _ in 0..runs {
            let t = Instant::now();
            value = store.alert_value(app_id, rule, &filter, now_us).await?;
            times.push(t.elapsed());
        }
        times.sort();
        mean_per_rule += times.iter().sum::<Duration>() / runs as u32;
        println!(
            "| {name} | {} | {:.2?} | {:.2?} | {:.1} |",
            value.map_or("no data".into(), |v| format!("{v:.3}")),
            p(&times, 0.5),
            p(&times, 0.95),
            p(&times, 0.5).as_secs_f64() / base.as_secs_f64()
        );
    }
    println!(
        "\nmean over these kinds: {:.2?} per rule",
        mean_per_rule / RULES.len() as u32
    );

    // Whole rounds: RULES rules cycling through the kinds above, through the real evaluator
    // (round claim, value queries, state steps, the batched value update).
    sqlx::query("DELETE FROM alert_rules WHERE app = 'bench'")
        .execute(store.pool())
        .await?;
    for i in 0..round_rules {
        let (_, body) = RULES[i % RULES.len()];
        let rule = spec(i, body)?.validate(None)?;
        store.create_alert(&rule, &[]).await?;
    }
    let evaluator = Evaluator::new(store.clone(), Settings::default());
    let mut rounds = Vec::new();
    for _ in 0..5 {
        sqlx::query("UPDATE alert_rounds SET last_run_at = NULL")
            .execute(store.pool())
            .await?;
        let t = Instant::now();
        let report = evaluator.round(now_us).await?;
        rounds.push(t.elapsed());
        anyhow::ensure!(report.ran && report.rules == round_rules, "{report:?}");
    }
    rounds.sort();
    let per_rule = p(&rounds, 0.5) / round_rules as u32;
    let every = Settings::default().every;
    println!(
        "round of {round_rules} rules: p50 {:.0?} (max {:.0?}), {per_rule:.2?} per rule → about {} rules per {every:?} round in one process",
        p(&rounds, 0.5),
        rounds[rounds.len() - 1],
        (every.as_secs_f64() / per_rule.as_secs_f64()) as u64
    );
    sqlx::query("DELETE FROM alert_rules WHERE app = 'bench'")
        .execute(store.pool())
        .await?;
    sqlx::query("UPDATE alert_rounds SET last_run_at = NULL")
        .execute(store.pool())
        .await?;
    Ok(())
}
