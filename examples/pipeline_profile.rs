//! Runs `pipeline::run` (what `POST /logs` does with a body, default rules included) over the
//! benchmark corpus, for instruction-level profiling:
//!
//! `valgrind --tool=callgrind --toggle-collect=pipeline_profile::run target/release/examples/pipeline_profile 5`
//!
//! With `--no-rules N` the same entry point runs with rules that change nothing (the rules'
//! cost is the difference); with `--dump FILE` it instead writes every record (Debug format)
//! to FILE, to compare the output of two builds; with `--syslog-loose N` it parses the same
//! messages N times with `syslog_loose` instead (collect on
//! `pipeline_profile::run_syslog_loose`), as the yardstick.

use logdrain::logplex::DEFAULT_MAX_FRAME_LEN;
use logdrain::pipeline::{self, Context};
use logdrain::rules::Rules;
use logdrain::synth::Corpus;
use std::hint::black_box;
use std::io::Write as _;

/// Same corpus as `benches/pipeline.rs`.
const MESSAGES: usize = 20_000;
const TARGET_BODY_BYTES: usize = 102_400;
const SEED: u64 = 0x10_9d_7a_1b;
/// The receive time given to the pipeline (2023-11-14T22:13:20Z).
const RECEIVED_US: i64 = 1_700_000_000_000_000;

fn bodies() -> Vec<Vec<u8>> {
    let mut corpus = Corpus::new(SEED);
    let mut bodies = Vec::new();
    let mut message = Vec::with_capacity(1024);
    let mut body = Vec::with_capacity(TARGET_BODY_BYTES);
    for _ in 0..MESSAGES {
        message.clear();
        corpus.next_message(&mut message);
        let framed_len = message.len() + message.len().to_string().len() + 1;
        if !body.is_empty() && body.len() + framed_len >= TARGET_BODY_BYTES {
            bodies.push(std::mem::take(&mut body));
        }
        body.extend_from_slice(format!("{} ", message.len()).as_bytes());
        body.extend_from_slice(&message);
    }
    bodies.push(body);
    bodies
}

/// The same messages, framed and converted to text, as `benches/pipeline.rs` gives them to
/// `syslog_loose`.
fn messages() -> Vec<String> {
    let mut corpus = Corpus::new(SEED);
    let mut message = Vec::with_capacity(1024);
    (0..MESSAGES)
        .map(|_| {
            message.clear();
            corpus.next_message(&mut message);
            String::from_utf8_lossy(&message).into_owned()
        })
        .collect()
}

#[inline(never)]
fn run_syslog_loose(messages: &[String]) -> usize {
    let mut parsed = 0;
    for message in messages {
        black_box(syslog_loose::parse_message(
            message,
            syslog_loose::Variant::RFC5424,
        ));
        parsed += 1;
    }
    parsed
}

/// `pipeline::run` over every body, as the server runs it per request.
#[inline(never)]
fn run(bodies: &[Vec<u8>], rules: &Rules) -> usize {
    let ctx = Context {
        app_id: 1,
        received_us: RECEIVED_US,
        tags: None,
        frame_id: Some("0123456789ABCDEF0123456789ABCDEF"),
        max_frame: DEFAULT_MAX_FRAME_LEN,
    };
    let mut lines = 0;
    for body in bodies {
        let prepared = pipeline::run(body, &ctx, rules);
        lines += prepared.records.len();
        black_box(&prepared);
    }
    lines
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--syslog-loose") {
        let messages = messages();
        let rounds: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(5);
        let mut lines = 0;
        for _ in 0..rounds {
            lines += run_syslog_loose(black_box(&messages));
        }
        println!("{lines} lines");
        return Ok(());
    }
    let bodies = bodies();
    if args.first().map(String::as_str) == Some("--no-rules") {
        let rules = Rules::none();
        let rounds: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(5);
        let mut lines = 0;
        for _ in 0..rounds {
            lines += run(black_box(&bodies), &rules);
        }
        println!("{lines} lines");
        return Ok(());
    }
    let rules = Rules::default();
    if args.first().map(String::as_str) == Some("--dump") {
        let path = args.get(1).map_or("records.txt", String::as_str);
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for body in &bodies {
            let ctx = Context {
                app_id: 1,
                received_us: RECEIVED_US,
                tags: None,
                frame_id: None,
                max_frame: DEFAULT_MAX_FRAME_LEN,
            };
            let prepared = pipeline::run(body, &ctx, &rules);
            writeln!(
                out,
                "{} {} {}",
                prepared.records.len(),
                prepared.fallbacks,
                prepared.messages
            )?;
            for record in &prepared.records {
                writeln!(out, "{record:?}")?;
            }
        }
        return out.flush();
    }
    let rounds: usize = args.first().and_then(|n| n.parse().ok()).unwrap_or(5);
    let mut lines = 0;
    for _ in 0..rounds {
        lines += run(black_box(&bodies), &rules);
    }
    println!("{lines} lines");
    Ok(())
}
