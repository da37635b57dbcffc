//! The store write bench: the same batches of lines written to the real `lines` table by binary
//! COPY (what `store/write.rs` does) and by `INSERT … SELECT FROM UNNEST` with bound arrays (the
//! other one-statement-per-batch option), to back the choice made in `store/copy.rs`.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench store_write
//! cargo bench --bench store_write        # no DATABASE_URL: a throwaway private cluster
//! ```
//!
//! It creates a fresh database (dropped at the end) with the crate's migrations, so the table,
//! its indexes and constraints are the ones the server writes to. 200,000 generated lines
//! (`synth::Corpus`, 400 per body with one receive time per body, like the server) are cut into
//! batches of 4,000 rows; each batch is one transaction. Only the database round trips are
//! timed: the COPY tuples and the arrays are built beforehand, as the request handlers build
//! them before the writer runs. Each method runs [`ROUNDS`] times, alternating, on an emptied
//! table; the median and the best round are reported. A third line times
//! `Store::write_batch`, the whole transaction the server commits (frame ledger, COPY,
//! rollups, counters), on the same batches.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use logdrain::pipeline::process_body;
use logdrain::record::LogRecord;
use logdrain::store::copy::{encode_rows, RowContext, COPY_HEADER, COPY_TRAILER, LINE_COLUMNS};
use logdrain::store::pgcluster::{ClusterOptions, PrivateCluster};
use logdrain::store::rollup::Rollup;
use logdrain::store::{Job, Store};
use logdrain::synth::Corpus;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgConnection};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Lines written per method and round.
const ROWS: usize = 200_000;
/// Rows per batch (one transaction each): the size of a busy server's batches.
const BATCH_ROWS: usize = 4_000;
/// Lines per generated body, as Logplex sends them.
const LINES_PER_BODY: usize = 400;
/// Timed rounds per method.
const ROUNDS: usize = 5;
/// The server's default `LOGDRAIN_MAX_FRAME`.
const MAX_FRAME_BYTES: usize = 256 * 1024;

/// The UNNEST statement: every column bound as one array, one row per element.
const UNNEST_INSERT: &str = "INSERT INTO lines (app_id, ts, received_at, pri, source, dyno, \
     kind, level, message, raw, tags, fields, frame_id) \
     SELECT * FROM UNNEST($1::int8[], $2::timestamptz[], $3::timestamptz[], $4::int2[], \
     $5::text[], $6::text[], $7::text[], $8::int2[], $9::text[], $10::bytea[], $11::jsonb[], \
     $12::jsonb[], $13::text[])";

/// One body's lines and what they share.
struct Body {
    records: Vec<LogRecord<'static>>,
    received_us: i64,
    frame_id: String,
}

/// One batch, column by column, for the UNNEST insert.
#[derive(Default)]
struct Columns {
    app_id: Vec<i64>,
    ts: Vec<DateTime<Utc>>,
    received_at: Vec<DateTime<Utc>>,
    pri: Vec<Option<i16>>,
    source: Vec<String>,
    dyno: Vec<String>,
    kind: Vec<&'static str>,
    level: Vec<i16>,
    message: Vec<String>,
    raw: Vec<Vec<u8>>,
    tags: Vec<Option<Value>>,
    fields: Vec<Option<Value>>,
    frame_id: Vec<String>,
}

/// The same batch in the three shapes being compared.
struct Batch {
    /// Header, tuples and trailer: the single CopyData message `write_batch` sends.
    copy: Vec<u8>,
    /// The arrays for [`UNNEST_INSERT`].
    columns: Columns,
    /// The jobs a server would have queued for these lines (frame ids get a round suffix).
    jobs: Vec<(String, Vec<u8>, u32, Rollup)>,
}

fn micros_to_utc(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// Generates [`ROWS`] lines and cuts them into batches of [`BATCH_ROWS`].
fn batches(app_id: i64) -> Vec<Batch> {
    let mut corpus = Corpus::new(7);
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let bodies: Vec<Body> = (0..ROWS / LINES_PER_BODY)
        .map(|i| {
            let mut raw = Vec::new();
            corpus.body(LINES_PER_BODY, &mut raw);
            let received_us = now_us + i as i64 * 1_000;
            Body {
                records: process_body(&raw, MAX_FRAME_BYTES, received_us)
                    .records
                    .into_iter()
                    .map(LogRecord::into_owned)
                    .collect(),
                received_us,
                frame_id: format!("{:032X}", i),
            }
        })
        .collect();

    bodies
        .chunks(BATCH_ROWS / LINES_PER_BODY)
        .map(|chunk| {
            let mut copy = COPY_HEADER.to_vec();
            let mut c = Columns::default();
            let mut jobs = Vec::new();
            for body in chunk {
                let ctx = RowContext {
                    app_id,
                    received_us: body.received_us,
                    tags: None,
                    frame_id: Some(&body.frame_id),
                };
                let mut rows = Vec::new();
                encode_rows(&mut rows, &ctx, &body.records);
                copy.extend_from_slice(&rows);
                let rollup = Rollup::of(app_id, &body.records);
                jobs.push((
                    body.frame_id.clone(),
                    rows,
                    body.records.len() as u32,
                    rollup,
                ));
                for r in &body.records {
                    c.app_id.push(app_id);
                    c.ts.push(micros_to_utc(r.ts_us));
                    c.received_at.push(micros_to_utc(body.received_us));
                    c.pri.push(r.pri.map(i16::from));
                    c.source.push(r.source.to_string());
                    c.dyno.push(r.dyno.to_string());
                    c.kind.push(r.kind.as_str());
                    c.level.push(r.level.severity());
                    c.message.push(r.message.to_string());
                    c.raw.push(r.raw.to_vec());
                    c.tags.push(None);
                    c.fields.push(Some(Value::Object(r.api_fields())));
                    c.frame_id.push(body.frame_id.clone());
                }
            }
            copy.extend_from_slice(COPY_TRAILER);
            Batch {
                copy,
                columns: c,
                jobs,
            }
        })
        .collect()
}

/// The ways of writing a batch that are compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    /// `COPY lines (…) FROM STDIN (FORMAT binary)`, one CopyData message per batch.
    Copy,
    /// `INSERT INTO lines (…) SELECT * FROM UNNEST($1, …, $13)`.
    Unnest,
    /// `Store::write_batch`: frame ledger, COPY, counters, in one transaction.
    WriteBatch,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Copy => "binary COPY",
            Method::Unnest => "INSERT … UNNEST",
            Method::WriteBatch => "Store::write_batch",
        }
    }
}

/// Writes every batch with `method`, one transaction each; the time the writes took.
async fn write_all(
    conn: &mut PgConnection,
    store: &Store,
    app_id: i64,
    round: usize,
    method: Method,
    batches: &[Batch],
) -> anyhow::Result<Duration> {
    let copy_statement = format!("COPY lines ({LINE_COLUMNS}) FROM STDIN (FORMAT binary)");
    let start = Instant::now();
    for batch in batches {
        match method {
            Method::Copy => {
                let mut tx = conn.begin().await?;
                let mut copy = tx.copy_in_raw(&copy_statement).await?;
                copy.send(batch.copy.as_slice()).await?;
                copy.finish().await?;
                tx.commit().await?;
            }
            Method::Unnest => {
                let c = &batch.columns;
                let mut tx = conn.begin().await?;
                sqlx::query(UNNEST_INSERT)
                    .bind(&c.app_id)
                    .bind(&c.ts)
                    .bind(&c.received_at)
                    .bind(&c.pri)
                    .bind(&c.source)
                    .bind(&c.dyno)
                    .bind(&c.kind)
                    .bind(&c.level)
                    .bind(&c.message)
                    .bind(&c.raw)
                    .bind(&c.tags)
                    .bind(&c.fields)
                    .bind(&c.frame_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Method::WriteBatch => {
                // Building jobs copies the tuples; that is cheap next to the round trip, and
                // fresh frame ids per round keep the ledger from answering them as retries.
                let jobs: Vec<Job> = batch
                    .jobs
                    .iter()
                    .map(|(frame_id, rows, lines, rollup)| Job {
                        rollup: rollup.clone(),
                        rule_events: Vec::new(),
                        app_id,
                        frame_id: Some(format!("{frame_id}-{round}")),
                        rows: rows.clone(),
                        lines: *lines,
                        dropped: 0,
                        msg_count_mismatch: None,
                        frame_length_mismatches: 0,
                        logplex_drain_token: None,
                    })
                    .collect();
                store.write_batch(&jobs).await?;
            }
        }
    }
    Ok(start.elapsed())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; this bench takes no arguments.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let (admin_url, mut cluster) =
        match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => (url, None),
            None => {
                println!("store_write: DATABASE_URL not set, starting a throwaway private cluster");
                let cluster = tokio::task::spawn_blocking(|| {
                    PrivateCluster::start(ClusterOptions::ephemeral_in_temp())
                })
                .await
                .context("private cluster start task")?
                .context("starting a private PostgreSQL cluster (or set DATABASE_URL)")?;
                (cluster.url("postgres"), Some(cluster))
            }
        };

    let db = format!("logdrain_store_write_{}", std::process::id());
    let admin = PgConnectOptions::from_str(&admin_url).context("parsing DATABASE_URL")?;
    let mut admin_conn = PgConnection::connect_with(&admin)
        .await
        .context("connecting to Postgres")?;
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin_conn)
        .await
        .with_context(|| format!("creating database {db}"))?;

    let result = measure(admin.clone().database(&db)).await;

    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin_conn)
        .await
        .with_context(|| format!("dropping database {db}"))?;
    admin_conn.close().await.ok();
    if let Some(cluster) = cluster.as_mut() {
        cluster.shutdown().context("stopping the private cluster")?;
    }
    result
}

async fn measure(options: PgConnectOptions) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await
        .context("connecting to the bench database")?;
    let store = Store::from_pool(pool);
    store.migrate().await.context("applying migrations")?;
    let (app_id,): (i64,) = sqlx::query_as("INSERT INTO apps (name) VALUES ('bench') RETURNING id")
        .fetch_one(store.pool())
        .await?;
    let mut conn = PgConnection::connect_with(&options).await?;

    let built = Instant::now();
    let batches = batches(app_id);
    let rows: usize = batches.iter().map(|b| b.columns.app_id.len()).sum();
    let copy_bytes: usize = batches.iter().map(|b| b.copy.len()).sum();
    println!(
        "store_write: {rows} rows in {} batches of {BATCH_ROWS} ({:.1} MiB as COPY tuples), built in {:.1} s",
        batches.len(),
        copy_bytes as f64 / 1048576.0,
        built.elapsed().as_secs_f64()
    );

    let methods = [Method::Copy, Method::Unnest, Method::WriteBatch];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); methods.len()];
    for round in 0..ROUNDS {
        for (m, &method) in methods.iter().enumerate() {
            sqlx::query("TRUNCATE lines, frames, loss_events")
                .execute(&mut conn)
                .await?;
            sqlx::query("DELETE FROM app_counters")
                .execute(&mut conn)
                .await?;
            let took = write_all(&mut conn, &store, app_id, round, method, &batches).await?;
            let (stored,): (i64,) = sqlx::query_as("SELECT count(*) FROM lines")
                .fetch_one(&mut conn)
                .await?;
            anyhow::ensure!(
                stored as usize == rows,
                "{} stored {stored} of {rows} rows",
                method.name()
            );
            let per_s = rows as f64 / took.as_secs_f64();
            println!(
                "store_write: round {} {:<20} {:>6.2} s  {per_s:>8.0} rows/s",
                round + 1,
                method.name(),
                took.as_secs_f64()
            );
            times[m].push(per_s);
        }
    }
    conn.close().await.ok();
    store.close().await;

    // The median is what to quote on a shared machine; the best round shows the headroom.
    let summary = |m: usize| {
        let mut v = times[m].clone();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (copy, copy_best) = summary(0);
    let (unnest, unnest_best) = summary(1);
    let (batch, batch_best) = summary(2);
    println!("store_write: rows/s, median (best) of {ROUNDS} rounds");
    println!("store_write:   binary COPY        {copy:>8.0} ({copy_best:.0})");
    println!("store_write:   INSERT … UNNEST    {unnest:>8.0} ({unnest_best:.0})");
    println!("store_write:   Store::write_batch {batch:>8.0} ({batch_best:.0})");
    println!(
        "store_write: COPY / UNNEST = {:.2} (median), {:.2} (best)",
        copy / unnest,
        copy_best / unnest_best
    );
    let json = serde_json::json!({
        "bench": "store_write",
        "rows": rows,
        "batch_rows": BATCH_ROWS,
        "rounds": ROUNDS,
        "copy_rows_per_s": copy,
        "unnest_rows_per_s": unnest,
        "write_batch_rows_per_s": batch,
        "copy_over_unnest": copy / unnest,
        "copy_best_rows_per_s": copy_best,
        "unnest_best_rows_per_s": unnest_best,
        "write_batch_best_rows_per_s": batch_best,
    });
    println!("{json}");
    Ok(())
}
