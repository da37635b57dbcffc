//! The ingest load driver: drives a running `logdrain serve` the way Logplex does, and reports
//! throughput, request latency and the server's memory.
//!
//! What it measures: end-to-end ingest, from the HTTP request to the commit in Postgres. Every
//! body is generated up front (`synth::Corpus`), so generation is not measured. `--connections`
//! keep-alive connections each send one frame at a time and wait for its answer, like the
//! drain nodes of a Logplex shard; a frame answered 503/429/5xx, or not answered within 5 s,
//! is sent again with the same `Logplex-Frame-Id`, at most three attempts in all.
//!
//! ```text
//! cargo bench --bench load -- --url http://127.0.0.1:18080 --app bench --token TOKEN \
//!     [--lines 1000000] [--lines-per-post 400] [--connections 8] [--rate LINES_PER_S] \
//!     [--server-pid PID] [--copy-file PATH] [--seed 1]
//! ```
//!
//! - `--rate` paces the frames on a fixed schedule (open loop) at that many lines/s: run once
//!   without it to find the maximum, then at 80 % of it to read the latency a drain sees
//!   when the server is busy but not saturated.
//! - `--server-pid` samples the server's `VmRSS` every 100 ms (peak reported, with `VmHWM`)
//!   and its CPU time.
//! - `--copy-file` writes the very same lines as a PostgreSQL binary COPY file of a plain
//!   reference table (`ts, severity, source, proc, kind, message, fields jsonb`), so that
//!   `benches/ingest_ratio.sh` can load them with `psql \copy` and compare the server with
//!   what Postgres takes for a simple one-row-per-line log table. `--print-copy-columns`
//!   prints its column list.
//!
//! - `--quiet-app NAME --quiet-token T [--quiet-every 100]` adds a second app that sends one
//!   frame every 100 ms during the run and reports its p50/p99 and answers (`load/quiet.rs`):
//!   with a flood of `--connections` for the main app, what the other apps experience.
//!
//! The report ends with one JSON line for scripts. `benches/ingest_ratio.sh` is the one
//! command that starts a server, runs this driver and does the COPY comparison.

#[path = "load/quiet.rs"]
mod quiet;

use bytes::Bytes;
use logdrain::pipeline::process_body;
use logdrain::record::write_fields_json;
use logdrain::store::copy::{COPY_HEADER, COPY_TRAILER};
use logdrain::synth::Corpus;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Attempts per frame, the first included (Logplex gives up on a frame after a few).
const MAX_ATTEMPTS: u32 = 3;
/// How long a request may take before it counts as timed out (Logplex waits 5 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait honoured from a `Retry-After` header before the next attempt.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);
/// Wait before retrying a request that failed without a `Retry-After` (timeout, reset).
const DEFAULT_RETRY_WAIT: Duration = Duration::from_millis(250);
/// The server's default `LOGDRAIN_MAX_FRAME`, so the COPY file holds the rows it stores.
const MAX_FRAME_BYTES: usize = 256 * 1024;
/// How often the server's memory is sampled.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How often progress is printed (to stderr).
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Linux reports process CPU times in clock ticks of 1/100 s (`USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

const USAGE: &str = "\
usage: cargo bench --bench load -- [options]
  --url URL              server base URL (http://127.0.0.1:18080)
  --app NAME             app name, the Basic-auth user (bench)
  --token TOKEN          drain token, the Basic-auth password (bench-token-0123456789)
  --lines N              lines to send in all (1000000)
  --lines-per-post N     lines per POST body (400, about 100 KiB like Logplex)
  --connections C        concurrent keep-alive connections (8)
  --rate R               pace frames to R lines/s (default: as fast as the server answers)
  --server-pid PID       sample the server's VmRSS, VmHWM and CPU time
  --copy-file PATH       also write the same lines as a binary COPY file of the reference table
  --seed S               traffic generator seed (1)
  --quiet-app NAME       a second app sending one frame every --quiet-every ms during the run
  --quiet-token TOKEN    its drain token
  --quiet-every MS       its interval (100)
  --print-copy-columns   print the COPY column list and exit";

/// The driver's settings, from the command line.
#[derive(Debug, Clone)]
struct Options {
    /// Server base URL; frames go to `<url>/logs`.
    url: String,
    /// Basic-auth user: the Heroku app name.
    app: String,
    /// Basic-auth password: the drain token.
    token: String,
    /// Lines to send in all.
    lines: usize,
    /// Lines per POST body.
    lines_per_post: usize,
    /// Concurrent connections, each sending one frame at a time.
    connections: usize,
    /// Target lines per second, when pacing.
    rate: Option<f64>,
    /// The server process to watch.
    server_pid: Option<u32>,
    /// Where to write the COPY file, when asked.
    copy_file: Option<PathBuf>,
    /// Seed of the traffic generator.
    seed: u64,
    /// Print [`LINE_COLUMNS`] and exit.
    print_copy_columns: bool,
    /// A quiet second app sending during the run.
    quiet: Option<quiet::QuietOptions>,
    /// No option was given besides the ones cargo adds (a plain `cargo bench`).
    defaults_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: "http://127.0.0.1:18080".into(),
            app: "bench".into(),
            token: "bench-token-0123456789".into(),
            lines: 1_000_000,
            lines_per_post: 400,
            connections: 8,
            rate: None,
            server_pid: None,
            copy_file: None,
            seed: 1,
            print_copy_columns: false,
            quiet: None,
            defaults_only: true,
        }
    }
}

/// Parses the options; `Ok(None)` when help was asked for. `--bench`, which cargo passes to
/// every bench binary, is accepted and ignored.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    fn value<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.replace('_', "")
            .parse()
            .map_err(|_| format!("{flag}: cannot parse {v:?}"))
    }
    let mut o = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut next = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "--bench" => continue,
            "-h" | "--help" => return Ok(None),
            "--url" => o.url = next().ok_or("--url needs a value")?,
            "--app" => o.app = next().ok_or("--app needs a value")?,
            "--token" => o.token = next().ok_or("--token needs a value")?,
            "--lines" => o.lines = value(&flag, next())?,
            "--lines-per-post" => o.lines_per_post = value(&flag, next())?,
            "--connections" => o.connections = value(&flag, next())?,
            "--rate" => o.rate = Some(value(&flag, next())?),
            "--server-pid" => o.server_pid = Some(value(&flag, next())?),
            "--copy-file" => {
                o.copy_file = Some(PathBuf::from(next().ok_or("--copy-file needs a value")?))
            }
            "--seed" => o.seed = value(&flag, next())?,
            "--print-copy-columns" => o.print_copy_columns = true,
            "--quiet-app" | "--quiet-token" | "--quiet-every" => {
                let q = o.quiet.get_or_insert_with(|| quiet::QuietOptions {
                    app: String::new(),
                    token: String::new(),
                    every: Duration::from_millis(100),
                });
                let v = next().ok_or_else(|| format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--quiet-app" => q.app = v,
                    "--quiet-token" => q.token = v,
                    _ => q.every = Duration::from_millis(value(&flag, Some(v))?),
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
        o.defaults_only = false;
    }
    if o.lines == 0 || o.lines_per_post == 0 || o.connections == 0 {
        return Err("--lines, --lines-per-post and --connections must be positive".into());
    }
    if o.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err("--rate must be a positive number of lines per second".into());
    }
    o.url = o.url.trim_end_matches('/').to_owned();
    Ok(Some(o))
}

/// One frame, ready to send as often as needed.
struct Post {
    /// The `application/logplex-1` body.
    body: Bytes,
    /// Messages in the body (`Logplex-Msg-Count`).
    lines: usize,
    /// `Logplex-Frame-Id`: 32 upper-case hex digits, unique per frame and per run.
    frame_id: String,
}

/// Generates every body before the clock starts.
fn generate(o: &Options) -> Vec<Post> {
    // Frame ids must not repeat across runs against the same database, or the server would
    // rightly answer them as retries and store nothing.
    let nonce = run_nonce();
    // Lines stamped from now on, as a live drain sends them (they land in today's partition).
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let mut corpus = Corpus::starting_at(o.seed, now_us);
    let mut posts = Vec::with_capacity(o.lines.div_ceil(o.lines_per_post));
    let mut left = o.lines;
    while left > 0 {
        let n = left.min(o.lines_per_post);
        let mut body = Vec::with_capacity(n * 300);
        corpus.body(n, &mut body);
        posts.push(Post {
            body: Bytes::from(body),
            lines: n,
            frame_id: format!("{nonce:016X}{:016X}", posts.len()),
        });
        left -= n;
    }
    posts
}

/// 64 bits that differ between runs: the clock and the pid, mixed.
fn run_nonce() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos ^ (u64::from(std::process::id()) << 32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Counters shared by the workers, read by the progress printer.
#[derive(Default)]
struct Counters {
    /// Lines in frames answered 204.
    acked_lines: AtomicU64,
    /// Responses with status 503.
    unavailable: AtomicU64,
    /// Other retryable answers: 429, other 5xx, timeouts, connection errors.
    other_retryable: AtomicU64,
    /// Frames given up on: a non-retryable answer or every attempt used.
    failed_frames: AtomicU64,
    /// Lines in the failed frames.
    failed_lines: AtomicU64,
}

/// What one worker saw.
#[derive(Default)]
struct WorkerReport {
    /// Latency of every request answered 204 (only the successful attempt of a retried frame).
    latencies: Vec<Duration>,
    /// Distinct non-retryable statuses and transport errors, for the report.
    errors: Vec<String>,
}

/// When frame `i` may be sent, when pacing.
#[derive(Clone, Copy)]
struct Schedule {
    start: tokio::time::Instant,
    interval: Duration,
}

/// What a run needs besides its own worker state.
struct Shared {
    options: Options,
    posts: Vec<Post>,
    next: AtomicUsize,
    counters: Counters,
    schedule: Option<Schedule>,
}

/// Takes frames in order until none are left and delivers each one, retrying like Logplex.
async fn worker(shared: Arc<Shared>) -> WorkerReport {
    let mut report = WorkerReport::default();
    let client = match reqwest::Client::builder()
        .http1_only()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            report.errors.push(format!("building the HTTP client: {e}"));
            return report;
        }
    };
    let url = format!("{}/logs", shared.options.url);
    loop {
        let i = shared.next.fetch_add(1, Relaxed);
        let Some(post) = shared.posts.get(i) else {
            break;
        };
        if let Some(s) = shared.schedule {
            tokio::time::sleep_until(s.start + s.interval.mul_f64(i as f64)).await;
        }
        deliver(&client, &url, &shared, post, &mut report).await;
    }
    report
}

/// Sends one frame, up to [`MAX_ATTEMPTS`] times.
async fn deliver(
    client: &reqwest::Client,
    url: &str,
    shared: &Shared,
    post: &Post,
    report: &mut WorkerReport,
) {
    let o = &shared.options;
    let c = &shared.counters;
    for attempt in 1..=MAX_ATTEMPTS {
        let sent = Instant::now();
        let response = client
            .post(url)
            .basic_auth(&o.app, Some(&o.token))
            .header("Content-Type", "application/logplex-1")
            .header("Logplex-Msg-Count", post.lines)
            .header("Logplex-Frame-Id", &post.frame_id)
            .header(
                "Logplex-Drain-Token",
                "d.8a0f3c52-5bd1-4b5e-9c1e-0d2f6a7b9e41",
            )
            .header("User-Agent", "Logplex/v123")
            .body(post.body.clone())
            .send()
            .await;
        let wait = match response {
            Ok(r) if r.status() == reqwest::StatusCode::NO_CONTENT => {
                report.latencies.push(sent.elapsed());
                c.acked_lines.fetch_add(post.lines as u64, Relaxed);
                return;
            }
            Ok(r) => {
                let status = r.status();
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s).min(MAX_RETRY_WAIT));
                // Read the body so the connection can be reused.
                let _ = r.bytes().await;
                if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                    c.unavailable.fetch_add(1, Relaxed);
                } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status.is_server_error()
                {
                    c.other_retryable.fetch_add(1, Relaxed);
                } else {
                    note_error(report, format!("HTTP {status}"));
                    break;
                }
                retry_after.unwrap_or(DEFAULT_RETRY_WAIT)
            }
            Err(e) => {
                c.other_retryable.fetch_add(1, Relaxed);
                let kind = if e.is_timeout() {
                    "timeout"
                } else {
                    "transport error"
                };
                note_error(report, format!("{kind}: {e}"));
                DEFAULT_RETRY_WAIT
            }
        };
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(wait).await;
        }
    }
    c.failed_frames.fetch_add(1, Relaxed);
    c.failed_lines.fetch_add(post.lines as u64, Relaxed);
}

/// Keeps the first few distinct error descriptions.
fn note_error(report: &mut WorkerReport, error: String) {
    if report.errors.len() < 5 && !report.errors.contains(&error) {
        report.errors.push(error);
    }
}

/// Peak memory of the server process, sampled from `/proc` on its own thread.
struct MemorySampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl MemorySampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peak_kb = 0;
            while !flag.load(Relaxed) {
                if let Some(kb) = status_kb(pid, "VmRSS:") {
                    peak_kb = peak_kb.max(kb);
                }
                std::thread::sleep(RSS_SAMPLE_EVERY);
            }
            peak_kb
        });
        MemorySampler { stop, thread }
    }

    /// Stops sampling; the peak `VmRSS` seen, in KiB.
    fn finish(self) -> u64 {
        self.stop.store(true, Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

/// A `kB` field of `/proc/PID/status`.
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// User plus system CPU time of a process so far, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its ')' are plain.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Prints progress to stderr until the run ends.
async fn progress(shared: Arc<Shared>, start: Instant) {
    let total = shared.options.lines as f64;
    loop {
        tokio::time::sleep(PROGRESS_EVERY).await;
        let acked = shared.counters.acked_lines.load(Relaxed) as f64;
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "  {secs:6.1} s  {acked:>10.0} lines acknowledged ({:5.1} %)  {:>8.0} lines/s",
            100.0 * acked / total,
            acked / secs
        );
    }
}

/// Whether the server answers `GET /readyz`.
async fn ready(url: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let r = client
        .get(format!("{url}/readyz"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("GET /readyz answered {}", r.status()))
    }
}

/// The reference table the COPY baseline loads: one row per line, its fields in jsonb, a
/// B-tree on (ts) and one on (kind, ts) (created by benches/ingest_ratio.sh).
const REFERENCE_COLUMNS: &str = "ts, severity, source, proc, kind, message, fields";

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// Writes every line the server stores as a binary COPY row of the reference table: its
/// timestamp, level (as a syslog severity), source, dyno, kind, message, and every extracted
/// field (the typed router columns included) as one JSON object.
fn write_copy_file(path: &Path, posts: &[Post]) -> std::io::Result<u64> {
    let mut file = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    file.write_all(COPY_HEADER)?;
    let mut row = Vec::new();
    let mut json = Vec::new();
    let mut count = 0;
    for post in posts {
        let received_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let processed = process_body(&post.body, MAX_FRAME_BYTES, received_us);
        for rec in &processed.records {
            row.clear();
            row.extend_from_slice(&7i16.to_be_bytes());
            put(&mut row, &(rec.ts_us - PG_EPOCH_OFFSET_US).to_be_bytes());
            put(&mut row, &rec.level.severity().to_be_bytes());
            put(&mut row, rec.source.as_bytes());
            put(&mut row, rec.dyno.as_bytes());
            put(&mut row, rec.kind.as_str().as_bytes());
            put(&mut row, rec.message.as_bytes());
            json.clear();
            let mut fields = if write_fields_json(&rec.fields, &mut json) {
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json)
                    .unwrap_or_default()
            } else {
                serde_json::Map::new()
            };
            let c = &rec.columns;
            let typed = [
                ("status", c.status.map(serde_json::Value::from)),
                ("service_ms", c.service_ms.map(serde_json::Value::from)),
                ("connect_ms", c.connect_ms.map(serde_json::Value::from)),
                ("bytes", c.bytes.map(serde_json::Value::from)),
                ("method", c.method.as_deref().map(serde_json::Value::from)),
                ("path", c.path.as_deref().map(serde_json::Value::from)),
                ("host", c.host.as_deref().map(serde_json::Value::from)),
                (
                    "dyno",
                    c.router_dyno.as_deref().map(serde_json::Value::from),
                ),
                (
                    "request_id",
                    c.request_id.as_deref().map(serde_json::Value::from),
                ),
                ("code", c.code.as_deref().map(serde_json::Value::from)),
            ];
            for (k, v) in typed {
                if let Some(v) = v {
                    fields.insert(k.to_owned(), v);
                }
            }
            if fields.is_empty() {
                row.extend_from_slice(&(-1i32).to_be_bytes());
            } else {
                let mut jsonb = vec![1u8]; // jsonb binary format version
                serde_json::to_writer(&mut jsonb, &fields)?;
                put(&mut row, &jsonb);
            }
            file.write_all(&row)?;
            count += 1;
        }
    }
    file.write_all(COPY_TRAILER)?;
    // On disk before the caller times a COPY of it, so write-back does not run during it.
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(count)
}

/// One length-prefixed COPY field.
fn put(row: &mut Vec<u8>, value: &[u8]) {
    row.extend_from_slice(&(value.len() as i32).to_be_bytes());
    row.extend_from_slice(value);
}

/// The latency below which `p` of the sorted samples fall (nearest rank), in milliseconds.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("load: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if options.print_copy_columns {
        println!("{REFERENCE_COLUMNS}");
        return;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load: starting the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(options)) {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}

async fn run(o: Options) -> Result<(), String> {
    // reqwest's rustls backend needs a process-wide crypto provider.
    logdrain::client::install_crypto();
    if let Err(e) = ready(&o.url).await {
        if o.defaults_only {
            // A plain `cargo bench` runs every bench; this one needs a server.
            println!(
                "load: skipped, no server at {} ({e}); see benches/ingest_ratio.sh",
                o.url
            );
            return Ok(());
        }
        return Err(format!("server at {} is not ready: {e}", o.url));
    }

    let generated = Instant::now();
    let posts = generate(&o);
    let body_bytes: usize = posts.iter().map(|p| p.body.len()).sum();
    println!(
        "load: {} lines in {} posts ({:.1} MiB, {:.0} KiB per post), generated in {:.1} s",
        o.lines,
        posts.len(),
        body_bytes as f64 / 1048576.0,
        body_bytes as f64 / 1024.0 / posts.len() as f64,
        generated.elapsed().as_secs_f64()
    );
    println!(
        "load: {} connections to {} as app {:?}, {}",
        o.connections,
        o.url,
        o.app,
        o.rate.map_or("as fast as it answers".into(), |r| format!(
            "paced at {r:.0} lines/s"
        ))
    );

    let schedule = o.rate.map(|r| Schedule {
        start: tokio::time::Instant::now(),
        interval: Duration::from_secs_f64(o.lines_per_post as f64 / r),
    });
    let shared = Arc::new(Shared {
        options: o.clone(),
        posts,
        next: AtomicUsize::new(0),
        counters: Counters::default(),
        schedule,
    });

    let sampler = o.server_pid.map(MemorySampler::start);
    let cpu_before = o.server_pid.and_then(cpu_seconds);
    let start = Instant::now();
    let progress = tokio::spawn(progress(Arc::clone(&shared), start));
    let quiet_stop = Arc::new(AtomicBool::new(false));
    let quiet = o
        .quiet
        .clone()
        .map(|q| tokio::spawn(quiet::run(o.url.clone(), q, Arc::clone(&quiet_stop))));
    let workers: Vec<_> = (0..o.connections)
        .map(|_| tokio::spawn(worker(Arc::clone(&shared))))
        .collect();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for w in workers {
        let report = w.await.map_err(|e| format!("worker: {e}"))?;
        latencies.extend(report.latencies);
        errors.extend(report.errors);
    }
    let elapsed = start.elapsed().as_secs_f64();
    progress.abort();
    quiet_stop.store(true, Relaxed);
    let quiet = match quiet {
        Some(q) => Some(q.await.map_err(|e| format!("quiet app: {e}"))?),
        None => None,
    };
    let cpu_after = o.server_pid.and_then(cpu_seconds);
    let peak_rss_kb = sampler.map(MemorySampler::finish);
    let hwm_kb = o.server_pid.and_then(|pid| status_kb(pid, "VmHWM:"));
    latencies.sort_unstable();
    errors.sort();
    errors.dedup();

    let c = &shared.counters;
    let acked = c.acked_lines.load(Relaxed);
    let lines_per_s = acked as f64 / elapsed;
    let (p50, p90, p99) = (
        percentile_ms(&latencies, 50.0),
        percentile_ms(&latencies, 90.0),
        percentile_ms(&latencies, 99.0),
    );
    let max = latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let server_cpu = cpu_before.zip(cpu_after).map(|(a, b)| b - a);
    let mb = |kb: u64| kb as f64 / 1024.0;

    println!(
        "load: sent          {} lines in {} posts",
        o.lines,
        shared.posts.len()
    );
    println!("load: acknowledged  {acked} lines (204)");
    println!("load: elapsed       {elapsed:.2} s");
    println!("load: throughput    {lines_per_s:.0} lines/s acknowledged");
    println!(
        "load: latency       p50 {p50:.1} ms  p90 {p90:.1} ms  p99 {p99:.1} ms  max {max:.1} ms"
    );
    println!(
        "load: retries       {} × 503, {} other (429/5xx/timeout/transport); {} frames ({} lines) failed",
        c.unavailable.load(Relaxed),
        c.other_retryable.load(Relaxed),
        c.failed_frames.load(Relaxed),
        c.failed_lines.load(Relaxed)
    );
    if let (Some(peak), Some(hwm)) = (peak_rss_kb, hwm_kb) {
        println!(
            "load: server memory peak VmRSS {:.1} MB (sampled), VmHWM {:.1} MB",
            mb(peak),
            mb(hwm)
        );
    }
    if let Some(cpu) = server_cpu {
        println!(
            "load: server CPU    {cpu:.1} s ({:.0} % of one core, {:.1} µs per line)",
            100.0 * cpu / elapsed,
            1e6 * cpu / acked.max(1) as f64
        );
    }
    for e in &errors {
        println!("load: error seen    {e}");
    }
    let quiet_summary = quiet.as_ref().map(|q| {
        let (p50, p99) = (
            percentile_ms(&q.latencies, 50.0),
            percentile_ms(&q.latencies, 99.0),
        );
        println!(
            "load: quiet app     {} frames: {} × 204, {} × 503, {} other; p50 {p50:.1} ms  p99 {p99:.1} ms",
            q.latencies.len(),
            q.ok,
            q.unavailable,
            q.other
        );
        serde_json::json!({"frames": q.latencies.len(), "ok": q.ok, "status_503": q.unavailable,
                           "other": q.other, "p50_ms": p50, "p99_ms": p99})
    });

    let copy_rows = match &o.copy_file {
        Some(path) => {
            let t = Instant::now();
            let rows = write_copy_file(path, &shared.posts)
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            println!(
                "load: copy file     {rows} reference-table rows in {} ({:.1} s)",
                path.display(),
                t.elapsed().as_secs_f64()
            );
            Some(rows)
        }
        None => None,
    };

    let summary = serde_json::json!({
        "bench": "load",
        "lines_sent": o.lines,
        "lines_acked": acked,
        "elapsed_s": elapsed,
        "lines_per_s": lines_per_s,
        "p50_ms": p50,
        "p90_ms": p90,
        "p99_ms": p99,
        "max_ms": max,
        "status_503": c.unavailable.load(Relaxed),
        "other_retryable": c.other_retryable.load(Relaxed),
        "failed_frames": c.failed_frames.load(Relaxed),
        "failed_lines": c.failed_lines.load(Relaxed),
        "peak_rss_mb": peak_rss_kb.map(mb),
        "vm_hwm_mb": hwm_kb.map(mb),
        "server_cpu_s": server_cpu,
        "connections": o.connections,
        "lines_per_post": o.lines_per_post,
        "rate": o.rate,
        "copy_rows": copy_rows,
        "quiet": quiet_summary,
    });
    println!("{summary}");
    Ok(())
}
