//! Query latency on a week of a busy app: loads LINES generated lines (default 10 million)
//! spread over DAYS days (default 7) into a fresh database with binary COPY through the
//! ingest encoder, starts a real server, and times the query API over HTTP, reporting p50/p95.
//!
//! ```sh
//! cargo bench --bench query                         # private throwaway cluster, 10 M lines
//! LINES=1000000 cargo bench --bench query           # a smaller run
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench query
//! KEEP_DB=1 DATABASE_URL=… cargo bench --bench query    # keep the database for psql
//! LINES=50000000 DAYS=35 SEARCH_INDEX_DAYS=7 cargo bench --bench query  # five weeks, search
//!                                                   # index on the newest week only
//! INDEX_BUILD_MEMORY_MB=256 …                       # maintenance_work_mem of the index builds
//! WHOLE_SPAN_RUNS=0 …                               # skip the searches over every partition
//! ROLLUPS=off …                                    # aggregates read lines, not rollups
//! REUSE_DB=logdrain_query_bench_123 …               # time a kept database again
//! ONLY='stats|metrics' …                            # time only the cases naming one of these
//! COMPACT=0 …                                       # keep every day as rows (no compact tier)
//! PARTITION_HOURS=1 …                               # hourly partitions (default 24: a day)
//! KEYED_MINUTES_KEEP_DAYS=7 …                       # minute rollups by path, dyno, method,
//!                                                   # host kept 7 days (default 1; 0: always)
//! ```
//!
//! Rollups come from the migration's SQL backfill, merged once more (as the server's merge
//! writes them: minute histograms as multisets) and the tables compacted with VACUUM FULL.
//! By default every sealed day is compacted before the queries run (as `logdrain serve` does
//! an hour after each day ends), and the bench prints the compaction rate, the bytes per line
//! of the compact tier (heap, TOAST, index, pruning summaries, Bloom filters) and the all-in
//! figure (with the id filter blocks and the rollups per stored line).

use anyhow::Context as _;
use logdrain::app::Application;
use logdrain::config::Task;
use logdrain::pipeline::process_body;
use logdrain::store::copy::{encode_rows, RowContext, COPY_HEADER, COPY_TRAILER, LINE_COLUMNS};
use logdrain::store::partitions::Policy;
use logdrain::store::pgcluster::{ClusterOptions, PrivateCluster};
use logdrain::store::{PoolSettings, Store};
use logdrain::synth::Corpus;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection};
use std::str::FromStr as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const API_TOKEN: &str = "bench-api-token-0123456789";
/// Lines per generated body (a Logplex POST holds a few hundred).
const LINES_PER_BODY: usize = 400;
/// Rows per COPY statement.
const ROWS_PER_COPY: usize = 100_000;

/// PARTITION_HOURS (default 24) as the partition interval.
fn partition_interval() -> Duration {
    Duration::from_secs(env_usize("PARTITION_HOURS", 24) as u64 * 3600)
}

/// `LOGDRAIN_KEYED_MINUTES_KEEP` of the maintenance runs.
fn keyed_minutes_keep() -> Option<Duration> {
    let days = env_usize("KEYED_MINUTES_KEEP_DAYS", 1) as u64;
    (days > 0).then(|| Duration::from_secs(days * 86_400))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let lines = env_usize("LINES", 10_000_000);
    let days = env_usize("DAYS", 7);
    let (admin_url, mut cluster) =
        match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => (url, None),
            None => {
                println!("query: DATABASE_URL not set, starting a throwaway private cluster");
                let cluster = tokio::task::spawn_blocking(|| {
                    PrivateCluster::start(ClusterOptions::ephemeral_in_temp())
                })
                .await
                .context("cluster task")?
                .context("starting a private PostgreSQL cluster (or set DATABASE_URL)")?;
                (cluster.url("postgres"), Some(cluster))
            }
        };
    // REUSE_DB=name times the queries on a database an earlier KEEP_DB run loaded (migrating
    // it to this build first), so two builds can be compared on the very same lines.
    let reuse = std::env::var("REUSE_DB").ok().filter(|d| !d.is_empty());
    let db = reuse
        .clone()
        .unwrap_or_else(|| format!("logdrain_query_bench_{}", std::process::id()));
    let admin = PgConnectOptions::from_str(&admin_url).context("parsing DATABASE_URL")?;
    let mut admin_conn = PgConnection::connect_with(&admin)
        .await
        .context("connecting")?;
    if reuse.is_none() {
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut admin_conn)
            .await?;
    }
    let db_url = match admin_url.split_once('?') {
        Some((base, q)) => format!(
            "{}/{db}?{q}",
            base.rsplit_once('/').map_or(base, |(b, _)| b)
        ),
        None => format!(
            "{}/{db}",
            admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b)
        ),
    };
    let result = measure(&db_url, lines, days).await;
    if (reuse.is_some() || std::env::var_os("KEEP_DB").is_some()) && cluster.is_none() {
        println!("kept database {db} (KEEP_DB)");
        return result;
    }
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin_conn)
        .await?;
    if let Some(mut c) = cluster.take() {
        tokio::task::spawn_blocking(move || c.shutdown()).await.ok();
    }
    result
}

/// Loads `lines` generated lines spanning `days` days and ending at `now_us`.
async fn load(store: &Store, lines: usize, days: usize, now_us: i64) -> anyhow::Result<()> {
    let app_id: i64 = sqlx::query_scalar("INSERT INTO apps (name) VALUES ('bench') RETURNING id")
        .fetch_one(store.pool())
        .await?;

    // A week of traffic ending now.
    let span_us = days as i64 * 86_400_000_000;
    // Calibrate the step on a sample (stack traces come in bursts and skew the mean gap), so
    // the generated lines end close to now.
    let probe_lines = 200_000.min(lines.max(1));
    let probe_step = 1_000_000u64;
    let mut probe = Corpus::starting_at(0xbe9c4, 0).with_step_us(probe_step);
    let mut last_ts = 0;
    let mut message = Vec::new();
    for _ in 0..probe_lines {
        message.clear();
        probe.next_message(&mut message);
        if let Ok(m) = logdrain::logplex::parse(&message) {
            last_ts = m.timestamp.unwrap_or(last_ts);
        }
    }
    let per_line = last_ts as f64 / probe_lines as f64; // µs advanced per line at probe_step
    let step = ((span_us as f64 / lines.max(1) as f64) / per_line * probe_step as f64) as u64;
    let mut corpus = Corpus::starting_at(0xbe9c4, now_us - span_us).with_step_us(step);
    // The server makes partitions a day ahead as time passes; do what it would have done.
    let no_index = Policy {
        search_index: false,
        interval: partition_interval(),
        ..Policy::default()
    };
    for day in 0..=days as i64 {
        store
            .maintain(&no_index, now_us - span_us + day * 86_400_000_000)
            .await?;
    }
    let started = Instant::now();
    let mut loaded = 0usize;
    let mut raw = Vec::new();
    // Two connections COPY at once (as the server's two writers do) while this task encodes.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    let mut copiers = Vec::new();
    for _ in 0..2 {
        let rx = rx.clone();
        let mut conn = store.pool().acquire().await?;
        copiers.push(tokio::spawn(async move {
            loop {
                let Some(copy) = rx.lock().await.recv().await else {
                    return Ok::<(), anyhow::Error>(());
                };
                let mut sink = conn
                    .copy_in_raw(&format!(
                        "COPY lines ({LINE_COLUMNS}) FROM STDIN (FORMAT binary)"
                    ))
                    .await?;
                sink.send(copy.as_slice()).await?;
                sink.finish().await?;
            }
        }));
    }
    while loaded < lines {
        let mut copy = Vec::with_capacity(ROWS_PER_COPY * 700);
        copy.extend_from_slice(COPY_HEADER);
        let mut in_copy = 0;
        while in_copy < ROWS_PER_COPY && loaded < lines {
            raw.clear();
            let n = LINES_PER_BODY.min(lines - loaded);
            corpus.body(n, &mut raw);
            let processed = process_body(&raw, 256 * 1024, now_us);
            let ctx = RowContext {
                app_id,
                received_us: now_us,
                tags: None,
                frame_id: None,
            };
            encode_rows(&mut copy, &ctx, &processed.records);
            in_copy += processed.records.len();
            loaded += n;
        }
        copy.extend_from_slice(COPY_TRAILER);
        tx.send(copy).await.context("a COPY connection failed")?;
        if loaded % 1_000_000 < ROWS_PER_COPY {
            println!(
                "  loaded {loaded} lines ({:.0} lines/s)",
                loaded as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    drop(tx);
    for copier in copiers {
        copier.await??;
    }
    sqlx::query("VACUUM ANALYZE lines")
        .execute(store.pool())
        .await?;
    let load_time = started.elapsed();
    let (first, last): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT min(ts), max(ts) FROM lines")
            .fetch_one(store.pool())
            .await?;
    println!(
        "loaded {loaded} lines in {load_time:.0?} ({:.0} lines/s, {first} .. {last})",
        loaded as f64 / load_time.as_secs_f64()
    );
    // Rollups, when this build has them: the migration's backfill, as for existing lines.
    let has_rollups: bool =
        sqlx::query_scalar("SELECT to_regproc('logdrain_rollup_lines') IS NOT NULL")
            .fetch_one(store.pool())
            .await?;
    if has_rollups {
        let t = Instant::now();
        sqlx::query("SELECT logdrain_rollup_lines('-infinity', 'infinity')")
            .execute(store.pool())
            .await?;
        println!("rollups of {loaded} lines built in {:.0?}", t.elapsed());
        // The backfill writes every histogram counted; ingest and the merge write a minute
        // row's as a multiset where that is smaller (migration 0015). Rebuild the rows as a
        // served database holds them: the minute rows as batches leave them, and the coarse
        // rows built from them by the merge (migration 0018); then compact the tables.
        let t = Instant::now();
        sqlx::raw_sql(
            "DELETE FROM request_rollups WHERE span_secs > 60; \
             DELETE FROM code_rollups WHERE span_secs > 60; \
             DELETE FROM metric_rollups WHERE span_secs > 60; \
             UPDATE request_rollups SET merged = false; UPDATE code_rollups SET merged = false; \
             UPDATE metric_rollups SET merged = false;",
        )
        .execute(store.pool())
        .await?;
        store.merge_rollups().await?;
        vacuum_full_rollups(store).await?;
        println!(
            "rollups merged as the server writes them in {:.0?}",
            t.elapsed()
        );
    }
    print_sizes(store, loaded).await?;

    Ok(())
}

/// Prints the size of every partition of `lines` together: heap (with TOAST) and indexes.
async fn print_sizes(store: &Store, lines: usize) -> anyhow::Result<()> {
    let (heap, indexes, trgm): (i64, i64, i64) = sqlx::query_as(
        "SELECT COALESCE(sum(pg_table_size(inhrelid)), 0)::bigint, \
                COALESCE(sum(pg_indexes_size(inhrelid)), 0)::bigint, \
                COALESCE((SELECT sum(pg_relation_size(indexrelid)) FROM pg_index i \
                          JOIN pg_class c ON c.oid = i.indexrelid \
                          WHERE c.relname LIKE '%_message_trgm'), 0)::bigint \
         FROM pg_inherits WHERE inhparent = 'lines'::regclass",
    )
    .fetch_one(store.pool())
    .await?;
    let per = |b: i64| b as f64 / lines.max(1) as f64;
    let (raw, message): (f64, f64) = sqlx::query_as(
        "SELECT COALESCE(avg(octet_length(COALESCE(raw, \
                    line_raw(pri, ts, source, dyno, message)))), 0)::float8, \
                COALESCE(avg(octet_length(message)), 0)::float8 \
         FROM lines TABLESAMPLE SYSTEM (0.5)",
    )
    .fetch_one(store.pool())
    .await?;
    println!("average line: raw {raw:.0} B, message {message:.0} B (sampled)");
    println!(
        "lines on disk: heap {} MB ({:.0} B/line), indexes {} MB ({:.0} B/line, of which search \
         {:.0} B/line), total {:.0} B/line",
        heap >> 20,
        per(heap),
        indexes >> 20,
        per(indexes),
        per(trgm),
        per(heap + indexes)
    );
    Ok(())
}

/// Compacts every sealed day as the maintenance task does, and prints its rate and the
/// compact tier's size.
/// Rewrites the rollup tables without their dead rows: what a served database's reuse of
/// their free space amounts to.
async fn vacuum_full_rollups(store: &Store) -> anyhow::Result<()> {
    for table in ["request_rollups", "code_rollups", "metric_rollups"] {
        sqlx::query(&format!("VACUUM FULL {table}"))
            .execute(store.pool())
            .await?;
    }
    Ok(())
}

async fn compact_days(store: &Store, now_us: i64) -> anyhow::Result<()> {
    let db_size = |store: Store| async move {
        sqlx::query_scalar::<_, i64>("SELECT pg_database_size(current_database())")
            .fetch_one(store.pool())
            .await
    };
    let before = db_size(store.clone()).await?;
    let policy = Policy {
        search_index: false,
        compact_after: Some(Duration::from_secs(3600)),
        interval: partition_interval(),
        keyed_minutes_keep: keyed_minutes_keep(),
        ..Policy::default()
    };
    let t = Instant::now();
    let report = store.maintain(&policy, now_us).await?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(report.errors.is_empty(), "{:?}", report.errors);
    println!(
        "compacted {} partitions, {} lines in {secs:.1} s: {:.0} lines/s (one maintenance \
         connection)",
        report.compacted.len(),
        report.compacted_lines,
        report.compacted_lines as f64 / secs
    );
    // The run after publishes nothing new and deletes the minute rows by key below the horizon
    // the first one published (migration 0017); the rollup tables are then compacted, as the
    // space of deleted rows is reused by new ones on a served database.
    let aged = store.maintain(&policy, now_us).await?;
    anyhow::ensure!(aged.errors.is_empty(), "{:?}", aged.errors);
    vacuum_full_rollups(store).await?;
    println!(
        "minute rollups by path, dyno, method, host older than {:?}: {} rows deleted",
        policy.keyed_minutes_keep,
        report.keyed_minute_rollups_deleted + aged.keyed_minute_rollups_deleted
    );
    let (chunks, in_chunks, total, toast, index, blooms): (i64, i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT count(*)::int8, COALESCE(sum(n), 0)::int8, \
                (SELECT COALESCE(sum(pg_total_relation_size(inhrelid)), 0)::int8 FROM pg_inherits \
                 WHERE inhparent = 'line_chunks'::regclass), \
                (SELECT COALESCE(sum(pg_total_relation_size(c.reltoastrelid)), 0)::int8 \
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'line_chunks'::regclass), \
                (SELECT COALESCE(sum(pg_indexes_size(inhrelid)), 0)::int8 FROM pg_inherits \
                 WHERE inhparent = 'line_chunks'::regclass), \
                COALESCE(sum(octet_length(terms_bloom) + octet_length(rids_bloom)), 0)::int8 \
         FROM line_chunks",
        )
        .fetch_one(store.pool())
        .await?;
    sqlx::query("VACUUM").execute(store.pool()).await?;
    let after = db_size(store.clone()).await?;
    // Per line of the compact tier (all of it: a reused database compacts nothing new).
    let n = in_chunks.max(1);
    let per = |b: i64| b as f64 / n as f64;
    println!(
        "compact tier: {chunks} chunks, {in_chunks} lines, {:.1} B/line (TOAST {:.1}, index \
         {:.2}, Bloom filters {:.1}); database {} MB before, {} MB after",
        per(total),
        per(toast),
        per(index),
        per(blooms),
        before >> 20,
        after >> 20
    );
    // The rest of a compacted line's cost: its partition's id filter blocks, and the rollups
    // (which cover every stored line, of both tiers).
    let (id_blocks, rollups, stored): (i64, i64, i64) = sqlx::query_as(
        "SELECT pg_total_relation_size('id_blocks')::int8, \
                (pg_total_relation_size('request_rollups') \
                 + pg_total_relation_size('code_rollups') \
                 + pg_total_relation_size('metric_rollups'))::int8, \
                ((SELECT count(*) FROM lines) + $1)::int8",
    )
    .bind(in_chunks)
    .fetch_one(store.pool())
    .await?;
    let rollups_per_line = rollups as f64 / stored.max(1) as f64;
    println!(
        "all-in per compacted line: {:.1} B (compact tier {:.1} + id blocks {:.1} + rollups \
         {rollups_per_line:.1}, {} MB over {stored} stored lines)",
        per(total) + per(id_blocks) + rollups_per_line,
        per(total),
        per(id_blocks),
        rollups >> 20
    );
    Ok(())
}

async fn measure(db_url: &str, lines: usize, days: usize) -> anyhow::Result<()> {
    let settings = PoolSettings {
        max_connections: 8,
        acquire_timeout: Duration::from_secs(30),
    };
    let store = Store::connect(db_url, &settings).await?;
    let t = Instant::now();
    store.migrate().await?;
    println!("migrations applied in {:.1?}", t.elapsed());
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let reused: Option<i64> = sqlx::query_scalar("SELECT id FROM apps WHERE name = 'bench'")
        .fetch_optional(store.pool())
        .await?;
    let now_us = match reused {
        None => {
            load(&store, lines, days, now_us).await?;
            now_us
        }
        // The reused lines end near the time they were loaded.
        Some(_) => {
            let newest: chrono::DateTime<chrono::Utc> =
                sqlx::query_scalar("SELECT max(ts) FROM lines")
                    .fetch_one(store.pool())
                    .await?;
            println!("reusing the loaded database (newest line {newest})");
            newest.timestamp_micros()
        }
    };
    let loaded: usize = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM lines")
        .fetch_one(store.pool())
        .await?
        .try_into()
        .unwrap_or(0);

    // A request id and a rare word (its first 8 hex digits) from about 30 minutes before the
    // newest line (the generated span ends near, not exactly at, now), from either tier (a
    // reused database may have compacted more days since it was loaded).
    let (request_id,): (String,) = sqlx::query_as(
        "SELECT request_id FROM lines_between('bench', \
           (SELECT max(ts) FROM lines) - interval '40 minutes', \
           (SELECT max(ts) FROM lines) - interval '30 minutes') \
         WHERE kind = 'router' ORDER BY ts DESC LIMIT 1",
    )
    .fetch_one(store.pool())
    .await?;
    let word = request_id[..8].to_owned();
    // And one from three days ago, in a sealed partition.
    let (old_request_id,): (String,) = sqlx::query_as(
        "SELECT request_id FROM lines_between('bench', now() - interval '3 days 1 hour', \
           now() - interval '3 days') WHERE kind = 'router' ORDER BY ts DESC LIMIT 1",
    )
    .fetch_one(store.pool())
    .await?;
    let old_word = old_request_id[..8].to_owned();
    let newest: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT max(ts) FROM lines")
        .fetch_one(store.pool())
        .await?;
    let last_hour = (newest - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let today =
        chrono::DateTime::<chrono::Utc>::from_timestamp_micros(now_us - now_us % 86_400_000_000)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();

    let compact = std::env::var("COMPACT").map_or(true, |v| v != "0");
    let index_days = std::env::var("SEARCH_INDEX_DAYS")
        .ok()
        .and_then(|d| d.parse::<u64>().ok());
    if compact {
        compact_days(&store, now_us).await?;
    }
    if !compact {
        // The sealed partitions get their search index, as the maintenance task builds them.
        let t = Instant::now();
        let build = Policy {
            compact_after: None,
            interval: partition_interval(),
            search_index_max_age: index_days.map(|d| Duration::from_secs(d * 86_400)),
            index_build_memory: env_usize("INDEX_BUILD_MEMORY_MB", 128) as u64 * 1024 * 1024,
            ..Policy::default()
        };
        let report = store.maintain(&build, now_us).await?;
        println!(
            "search indexes built on {} sealed partitions in {:.0?}",
            report.indexed.len(),
            t.elapsed()
        );
        sqlx::query("ANALYZE lines").execute(store.pool()).await?;
        print_sizes(&store, loaded).await?;
    }
    // The server, as `logdrain serve` runs it, with the search-index age the bench built to
    // (so that its own maintenance does not build more indexes while queries are timed), and
    // no query timeout, so that the slowest cases are measured rather than stopped.
    let mut args = vec![
        "logdrain".to_owned(),
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--database-url".into(),
        db_url.to_owned(),
        "--db-pool".into(),
        "8".into(),
        "--db-timeout".into(),
        "30s".into(),
        "--api-token".into(),
        API_TOKEN.into(),
        "--query-timeout".into(),
        "0s".into(),
    ];
    if let Some(days) = index_days {
        args.extend(["--search-index-age".into(), format!("{days}d")]);
    }
    if !compact {
        args.extend(["--compact-after".into(), "0s".into()]);
    }
    args.extend([
        "--partition-interval".into(),
        format!("{}h", partition_interval().as_secs() / 3600),
    ]);
    let Task::Serve(config) = logdrain::config::load(&args)?.task else {
        anyhow::bail!("not serve")
    };
    // ROLLUPS=off: the aggregates read every line (the reference the rollups answer like).
    let rollups = std::env::var("ROLLUPS").map_or(true, |v| v != "off");
    println!("aggregates read rollups: {rollups}");
    let app = Application::bind(*config, store.clone().with_rollup_reads(rollups)).await?;
    let addr = app.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stop_rx.await;
    }));
    let client = logdrain::client::http_client();
    let base = format!("http://{addr}/api/apps/bench");

    println!();
    println!("| query | p50 | p95 | runs |");
    println!("|---|---|---|---|");
    // The whole-span searches read every partition without a search index (about 3.5 s per
    // unindexed day of 1.4 M lines from memory, minutes when the data is larger than memory),
    // so they run a few times only: WHOLE_SPAN_RUNS (default 3; 0 skips them).
    let whole = env_usize("WHOLE_SPAN_RUNS", 3);
    let mut cases: Vec<(String, String, usize)> = vec![
        (
            "latest 100 (`/logs?n=100`)",
            format!("{base}/logs?n=100"),
            30,
        ),
        (
            "filter: latest 100 of one dyno (`dyno=web.1`)",
            format!("{base}/logs?n=100&dyno=web.1"),
            20,
        ),
        (
            "filter: latest 100 of a process type (`type=worker`)",
            format!("{base}/logs?n=100&type=worker"),
            20,
        ),
        (
            "filter: latest 100 router lines (`kind=router`)",
            format!("{base}/logs?n=100&kind=router"),
            20,
        ),
        (
            "filter: latest 100 HTTP errors (`status=5xx`)",
            format!("{base}/logs?n=100&status=5xx"),
            20,
        ),
        (
            "filter: latest 100 H12 (`code=H12`)",
            format!("{base}/logs?n=100&code=H12"),
            20,
        ),
        (
            "filter: latest 100 warnings and worse (`level=warning`)",
            format!("{base}/logs?n=100&level=warning"),
            20,
        ),
        ("filter: `/events`", format!("{base}/events"), 20),
        (
            "request_id lookup (`/requests/{id}`)",
            format!("{base}/requests/{request_id}"),
            30,
        ),
        (
            "request_id lookup, 3 days ago (`/requests/{id}`)",
            format!("{base}/requests/{old_request_id}"),
            30,
        ),
        (
            "`q=` rare word, last hour",
            format!("{base}/logs?q={word}&since={last_hour}"),
            20,
        ),
        (
            "`q=` common word, whole week",
            format!("{base}/logs?q=Completed"),
            10,
        ),
        (
            "`q=` rare word from 3 days ago, last 7 days",
            format!("{base}/logs?q={old_word}&since=7d"),
            5,
        ),
        (
            "`/stats/requests?by=path`, 24 h",
            format!("{base}/stats/requests?by=path&since=24h"),
            10,
        ),
        (
            "`/stats/requests?by=path`, 30 days",
            format!("{base}/stats/requests?by=path&since=30d"),
            10,
        ),
        (
            "`/stats/errors`, 30 days",
            format!("{base}/stats/errors?since=30d"),
            10,
        ),
        ("`/metrics`, 7 days", format!("{base}/metrics?since=7d"), 10),
        (
            "`q=` rare word, whole week",
            format!("{base}/logs?q={word}"),
            whole,
        ),
        (
            "`q=` rare word from 3 days ago, whole span",
            format!("{base}/logs?q={old_word}&since={days}d"),
            whole,
        ),
        (
            "`q=` rare word, sealed partitions only (until today 00:00)",
            format!("{base}/logs?q={old_word}&since={days}d&until={today}"),
            whole,
        ),
    ]
    .into_iter()
    .map(|(name, url, runs)| (name.to_owned(), url, runs))
    .collect();
    // The app overview's chart queries (every one the page makes) per range picker choice:
    // minute buckets up to 24 h, hour buckets beyond.
    for (range, by, bucket, runs) in [
        ("1h", "minute", "60s", 20),
        ("24h", "minute", "60s", 10),
        ("7d", "hour", "3600s", 5),
        ("30d", "hour", "3600s", 5),
    ] {
        let overview = [
            (
                "`/stats/requests?by=BY`",
                format!("stats/requests?by={by}&limit=10000"),
            ),
            (
                "`/stats/requests?by=BY&status=400-499`",
                format!("stats/requests?by={by}&limit=10000&status=400-499"),
            ),
            (
                "`/stats/errors?bucket=B`",
                format!("stats/errors?bucket={bucket}"),
            ),
            ("`/metrics?bucket=B`", format!("metrics?bucket={bucket}")),
            ("`/events?n=2000`", "events?n=2000&format=json".to_owned()),
            ("`/loss`", "loss?".to_owned()),
        ];
        for (name, path) in overview {
            let name = name
                .replace("BY", by)
                .replace("=B`", &format!("={bucket}`"));
            let sep = if path.ends_with('?') { "" } else { "&" };
            cases.push((
                format!("overview {range}: {name}"),
                format!("{base}/{path}{sep}since={range}"),
                runs,
            ));
        }
    }
    // ONLY="stats|metrics" times only the cases whose name contains one of those texts.
    let only = std::env::var("ONLY").unwrap_or_default();
    for (name, url, runs) in cases {
        if !only.split('|').any(|o| name.contains(o)) {
            continue;
        }
        if runs == 0 {
            println!("| {name} | skipped | | 0 |");
            continue;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let res = client.get(&url).bearer_auth(API_TOKEN).send().await?;
            let status = res.status();
            let body = res.bytes().await?;
            times.push(t.elapsed());
            anyhow::ensure!(status.is_success(), "{url}: {status}");
            // Text pages may be empty (a search with no match); the status is what counts.
            let _ = body;
        }
        times.sort();
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!("| {name} | {:.1?} | {:.1?} | {runs} |", p(0.5), p(0.95));
    }
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}
