//! OTLP/HTTP ingest against the Logplex path, on the same lines, in the same run.
//!
//! ```text
//! cargo bench --bench otlp_ingest                       # private cluster, 200,000 lines
//! LINES=400000 ROUNDS=3 CONNECTIONS=8 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench --bench otlp_ingest
//! ```
//!
//! The generator (`synth::Corpus`) makes realistic Heroku traffic; every batch of
//! `LINES_PER_POST` lines is sent three ways: as the `application/logplex-1` body Logplex would
//! send to `/logs`, and as one OTLP export to `/v1/logs` in protobuf and in JSON (each syslog
//! message a log record: MSG as the body, its timestamp, the dyno as `heroku.dyno`; the source
//! is left for the body to tell, as on Fir). Each way goes to its own app of a real server with
//! a real database, `CONNECTIONS` keep-alive connections at a time; the three take turns,
//! `ROUNDS` times over fresh lines, so machine noise falls on all of them alike.
//!
//! It prints two tables: the pure CPU work per line (no I/O: `pipeline::run` on the body
//! against `otlp::decode` + `otlp::lines` + `pipeline::run_otlp`), and end to end (lines/s
//! acknowledged, p50 and p99 request latency), each as a ratio to the Logplex path; then the
//! lines per kind each app stored, which must agree.

use anyhow::Context as _;
use logdrain::app::Application;
use logdrain::config::Task;
use logdrain::logplex::{self, Frame};
use logdrain::otlp::{self, map::MapSettings, Encoding, ExportLogsServiceRequest, Routing};
use logdrain::pipeline::{self, Context};
use logdrain::rules::Rules;
use logdrain::store::pgcluster::{ClusterOptions, PrivateCluster};
use logdrain::store::{PoolSettings, Store};
use logdrain::synth::Corpus;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as V, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use sqlx::{Connection as _, PgConnection};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789";
/// The three ways in, each stored under its own app.
const WAYS: [(&str, &str); 3] = [
    ("Logplex /logs", "via-logplex"),
    ("OTLP protobuf", "via-otlp-proto"),
    ("OTLP JSON", "via-otlp-json"),
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// One batch of lines in the three encodings.
struct Batch {
    lines: usize,
    bodies: [Vec<u8>; 3],
}

/// `n` lines from `corpus` as a Logplex body and as OTLP protobuf and JSON exports.
fn batch(corpus: &mut Corpus, n: usize, service: &str) -> anyhow::Result<Batch> {
    let mut body = Vec::with_capacity(n * 300);
    corpus.body(n, &mut body);
    let mut records = Vec::with_capacity(n);
    for frame in logplex::frames(&body, logplex::DEFAULT_MAX_FRAME_LEN) {
        let Frame::Message(bytes) = frame else {
            anyhow::bail!("the generator made an invalid frame");
        };
        let msg = logplex::parse(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        let text = String::from_utf8_lossy(msg.msg);
        let nanos = msg.timestamp.unwrap_or(0).max(0) as u64 * 1_000;
        records.push(LogRecord {
            time_unix_nano: nanos,
            observed_time_unix_nano: nanos,
            body: Some(AnyValue {
                value: Some(V::StringValue(text.trim_end_matches('\n').to_owned())),
            }),
            attributes: vec![KeyValue {
                key: "heroku.dyno".into(),
                value: Some(AnyValue {
                    value: Some(V::StringValue(
                        String::from_utf8_lossy(msg.procid).into_owned(),
                    )),
                }),
                ..KeyValue::default()
            }],
            ..LogRecord::default()
        });
    }
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(V::StringValue(service.into())),
                    }),
                    ..KeyValue::default()
                }],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    Ok(Batch {
        lines: n,
        bodies: [body, request.encode_to_vec(), serde_json::to_vec(&request)?],
    })
}

/// The pure work of one way over every batch, in lines per second of one core.
fn cpu_lines_per_s(way: usize, batches: &[Batch]) -> anyhow::Result<f64> {
    let rules = Rules::default();
    let ctx = Context {
        app_id: 1,
        received_us: 1_800_000_000_000_000,
        tags: None,
        frame_id: Some("bench"),
        max_frame: logplex::DEFAULT_MAX_FRAME_LEN,
    };
    let settings = MapSettings {
        max_attributes: 128,
    };
    let started = Instant::now();
    let mut lines = 0usize;
    for b in batches {
        let body = &b.bodies[way];
        let rows = match way {
            0 => pipeline::run(body, &ctx, &rules).rows.len(),
            _ => {
                let enc = if way == 1 {
                    Encoding::Protobuf
                } else {
                    Encoding::Json
                };
                let req = otlp::decode(body, enc)?;
                let mapped = otlp::lines(&req, Routing::OneApp, &[], settings, ctx.received_us);
                pipeline::run_otlp(&mapped.lines, &ctx, &rules).rows.len()
            }
        };
        std::hint::black_box(rows);
        lines += b.lines;
    }
    Ok(lines as f64 / started.elapsed().as_secs_f64())
}

/// What sending one way's batches measured.
struct Sent {
    lines: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

/// Sends batch `way` of every batch with `connections` keep-alive connections.
async fn send(
    base: &str,
    way: usize,
    batches: &Arc<Vec<Batch>>,
    connections: usize,
    round: usize,
) -> anyhow::Result<Sent> {
    let (path, content_type) = match way {
        0 => ("/logs", "application/logplex-1"),
        1 => ("/v1/logs", "application/x-protobuf"),
        _ => ("/v1/logs", "application/json"),
    };
    let app = WAYS[way].1;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (next, batches) = (Arc::clone(&next), Arc::clone(batches));
        let url = format!("{base}{path}");
        let client = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()?;
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Relaxed);
                let Some(b) = batches.get(i) else { break };
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .basic_auth(app, Some(TOKEN))
                    .header("Content-Type", content_type)
                    .header("Logplex-Frame-Id", format!("{round:08X}{way:08X}{i:016X}"))
                    .header("Logplex-Msg-Count", b.lines)
                    .body(b.bodies[way].clone())
                    .send()
                    .await?;
                let status = res.status();
                let _ = res.bytes().await?;
                anyhow::ensure!(status.is_success(), "{url} answered {status}");
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(r) = tasks.join_next().await {
        latencies.extend(r??);
    }
    Ok(Sent {
        lines: batches.iter().map(|b| b.lines).sum(),
        seconds: started.elapsed().as_secs_f64(),
        latencies,
    })
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    logdrain::client::install_crypto();
    // The server's own logs, when RUST_LOG asks for them.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let lines = env_usize("LINES", 200_000);
    let per_post = env_usize("LINES_PER_POST", 400).max(1);
    let rounds = env_usize("ROUNDS", 2).max(1);
    let connections = env_usize("CONNECTIONS", 8).max(1);

    let (admin_url, cluster) = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => (url, None),
        None => {
            println!("otlp_ingest: DATABASE_URL not set, starting a throwaway private cluster");
            let cluster = tokio::task::spawn_blocking(|| {
                PrivateCluster::start(ClusterOptions::ephemeral_in_temp())
            })
            .await?
            .context("starting a private PostgreSQL cluster (or set DATABASE_URL)")?;
            (cluster.url("postgres"), Some(cluster))
        }
    };
    let db = format!("logdrain_otlp_bench_{}", std::process::id());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .context("connecting")?;
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await?;
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
    let result = measure(&db_url, lines, per_post, rounds, connections).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    if let Some(mut c) = cluster {
        tokio::task::spawn_blocking(move || c.shutdown()).await.ok();
    }
    result
}

async fn measure(
    db_url: &str,
    lines: usize,
    per_post: usize,
    rounds: usize,
    connections: usize,
) -> anyhow::Result<()> {
    let settings = PoolSettings {
        max_connections: 8,
        acquire_timeout: Duration::from_secs(30),
    };
    let store = Store::connect(db_url, &settings).await?;
    store.migrate().await?;
    let args: Vec<String> = [
        "logdrain",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        db_url,
        "--db-pool",
        "16",
        "--db-timeout",
        "30s",
        "--drain-token",
        TOKEN,
    ]
    .map(str::to_owned)
    .to_vec();
    let Task::Serve(config) = logdrain::config::load(&args)?.task else {
        anyhow::bail!("not serve")
    };
    let app = Application::bind(*config, store.clone()).await?;
    let base = format!("http://{}", app.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stop_rx.await;
    }));

    let mut cpu = [0.0f64; 3];
    let mut seconds = [0.0f64; 3];
    let mut sent_lines = [0usize; 3];
    let mut latencies: [Vec<Duration>; 3] = Default::default();
    for round in 0..rounds {
        let now_us = chrono::Utc::now().timestamp_micros();
        let mut corpus = Corpus::starting_at(round as u64 + 1, now_us);
        let mut batches = Vec::new();
        let mut left = lines;
        while left > 0 {
            let n = left.min(per_post);
            batches.push(batch(&mut corpus, n, "bench")?);
            left -= n;
        }
        let batches = Arc::new(batches);
        for (way, c) in cpu.iter_mut().enumerate() {
            *c += cpu_lines_per_s(way, &batches)? / rounds as f64;
        }
        // Take turns, starting with a different way each round.
        for k in 0..3 {
            let way = (round + k) % 3;
            let s = send(&base, way, &batches, connections, round).await?;
            println!(
                "round {round}: {:<14} {:>9.0} lines/s",
                WAYS[way].0,
                s.lines as f64 / s.seconds
            );
            seconds[way] += s.seconds;
            sent_lines[way] += s.lines;
            latencies[way].extend(s.latencies);
        }
    }

    let sizes: Vec<usize> = {
        let mut corpus = Corpus::new(99);
        let b = batch(&mut corpus, per_post, "bench")?;
        b.bodies.iter().map(Vec::len).collect()
    };
    println!();
    println!(
        "{lines} lines × {rounds} rounds, {per_post} lines per request, {connections} connections"
    );
    println!("| way | body per request | pure pipeline, lines/s (one core) | vs Logplex | end to end, lines/s | vs Logplex | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    let e2e: Vec<f64> = (0..3).map(|w| sent_lines[w] as f64 / seconds[w]).collect();
    for w in 0..3 {
        latencies[w].sort_unstable();
        println!(
            "| {} | {:.0} KiB | {:.0} | {:.2}× | {:.0} | {:.2}× | {:.1} | {:.1} |",
            WAYS[w].0,
            sizes[w] as f64 / 1024.0,
            cpu[w],
            cpu[w] / cpu[0],
            e2e[w],
            e2e[w] / e2e[0],
            percentile_ms(&latencies[w], 50.0),
            percentile_ms(&latencies[w], 99.0),
        );
    }

    // The same lines, classified the same whichever way they came.
    let kinds: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT a.name, l.kind, count(*) FROM lines l JOIN apps a ON a.id = l.app_id \
         GROUP BY 1, 2 ORDER BY 2, 1",
    )
    .fetch_all(store.pool())
    .await?;
    println!();
    println!("lines stored per kind and way:");
    for (app, kind, n) in &kinds {
        println!("  {kind:<15} {app:<15} {n}");
    }
    let _ = stop_tx.send(());
    server.await??;
    store.close().await;
    Ok(())
}
