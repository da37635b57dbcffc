//! Benchmarks the pure pipeline on synthetic Heroku traffic: framing + parsing alone, the pure
//! pipeline with classification and field extraction, then the whole work a request handler does (frame → parse → classify → binary COPY encoding), next to
//! `syslog_loose` parsing the same messages already framed, as a yardstick.
//!
//! The pure pipeline is also measured with the default ingest rules (built-in redaction), so the
//! cost of redaction is the difference between `frame+parse+classify` and `…+redact`.
//!
//! Run: `cargo bench --bench pipeline -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logdrain::classify::process_body;
use logdrain::logplex::{frames, parse, Frame, DEFAULT_MAX_FRAME_LEN};
use logdrain::rules::{apply, Rules};
use logdrain::store::copy::{encode_rows, RowContext};
use logdrain::synth::Corpus;
use std::hint::black_box;

/// Messages in the corpus.
const MESSAGES: usize = 20_000;
/// Logplex fills a body until the next message would reach this size (`http_drain_target_bytes`).
const TARGET_BODY_BYTES: usize = 102_400;
/// Fixed seed, so every run measures the same bytes.
const SEED: u64 = 0x10_9d_7a_1b;

/// The corpus as Logplex would POST it: bodies of about 100 KiB.
struct Workload {
    /// `application/logplex-1` bodies.
    bodies: Vec<Vec<u8>>,
    /// The same messages, framed and converted to text for `syslog_loose`.
    messages: Vec<String>,
}

impl Workload {
    fn new() -> Self {
        let mut corpus = Corpus::new(SEED);
        let mut bodies = Vec::new();
        let mut messages = Vec::with_capacity(MESSAGES);
        let mut message = Vec::with_capacity(1024);
        let mut body = Vec::with_capacity(TARGET_BODY_BYTES);
        while messages.len() < MESSAGES {
            message.clear();
            corpus.next_message(&mut message);
            let framed_len = message.len() + message.len().to_string().len() + 1;
            if !body.is_empty() && body.len() + framed_len >= TARGET_BODY_BYTES {
                bodies.push(std::mem::take(&mut body));
            }
            body.extend_from_slice(format!("{} ", message.len()).as_bytes());
            body.extend_from_slice(&message);
            messages.push(String::from_utf8_lossy(&message).into_owned());
        }
        bodies.push(body);
        Self { bodies, messages }
    }

    fn body_bytes(&self) -> u64 {
        self.bodies.iter().map(|b| b.len() as u64).sum()
    }

    fn message_bytes(&self) -> u64 {
        self.messages.iter().map(|m| m.len() as u64).sum()
    }
}

/// Frames and parses every body; returns the number of parsed messages.
fn frame_and_parse(bodies: &[Vec<u8>]) -> usize {
    let mut parsed = 0;
    for body in bodies {
        for frame in frames(body, DEFAULT_MAX_FRAME_LEN) {
            if let Frame::Message(raw) = frame {
                if let Ok(message) = parse(raw) {
                    black_box(&message);
                    parsed += 1;
                }
            }
        }
    }
    parsed
}

/// The pure pipeline: frame → parse → reassemble → classify with field extraction.
fn pure_pipeline(bodies: &[Vec<u8>]) -> usize {
    let mut lines = 0;
    for body in bodies {
        let processed = process_body(body, DEFAULT_MAX_FRAME_LEN, 1_700_000_000_000_000);
        lines += processed.records.len();
        black_box(&processed);
    }
    lines
}

/// The pure pipeline with the default ingest rules (built-in redaction) applied, as the
/// request handler runs it.
fn pure_pipeline_redacted(bodies: &[Vec<u8>], rules: &Rules) -> usize {
    let mut lines = 0;
    for body in bodies {
        let mut processed = process_body(body, DEFAULT_MAX_FRAME_LEN, 1_700_000_000_000_000);
        let applied = apply(rules, &mut processed.records, 1_700_000_000_000_000);
        lines += processed.records.len();
        black_box(&applied);
        black_box(&processed);
    }
    lines
}

/// What `POST /logs` does with a body before queueing it: the pure pipeline and COPY encoding.
fn full_pipeline(bodies: &[Vec<u8>], out: &mut Vec<u8>) -> usize {
    let mut lines = 0;
    for body in bodies {
        let processed = process_body(body, DEFAULT_MAX_FRAME_LEN, 1_700_000_000_000_000);
        out.clear();
        let ctx = RowContext {
            app_id: 1,
            received_us: 1_700_000_000_000_000,
            tags: None,
            frame_id: Some("0123456789ABCDEF0123456789ABCDEF"),
        };
        encode_rows(out, &ctx, &processed.records);
        lines += processed.records.len();
    }
    lines
}

/// Parses every pre-framed message with `syslog_loose` as RFC 5424.
fn syslog_loose_parse(messages: &[String]) -> usize {
    let mut parsed = 0;
    for message in messages {
        let message = syslog_loose::parse_message(message, syslog_loose::Variant::RFC5424);
        black_box(&message);
        parsed += 1;
    }
    parsed
}

fn pipeline(c: &mut Criterion) {
    let workload = Workload::new();
    assert_eq!(frame_and_parse(&workload.bodies), MESSAGES);
    let lines = MESSAGES as u64;

    let mut group = c.benchmark_group("logdrain/frame+parse");
    group.throughput(Throughput::Bytes(workload.body_bytes()));
    group.bench_function("bytes", |b| {
        b.iter(|| frame_and_parse(black_box(&workload.bodies)))
    });
    group.throughput(Throughput::Elements(lines));
    group.bench_function("lines", |b| {
        b.iter(|| frame_and_parse(black_box(&workload.bodies)))
    });
    group.finish();

    assert_eq!(pure_pipeline(&workload.bodies), MESSAGES);
    let mut group = c.benchmark_group("logdrain/frame+parse+classify");
    group.throughput(Throughput::Bytes(workload.body_bytes()));
    group.bench_function("bytes", |b| {
        b.iter(|| pure_pipeline(black_box(&workload.bodies)))
    });
    group.throughput(Throughput::Elements(lines));
    group.bench_function("lines", |b| {
        b.iter(|| pure_pipeline(black_box(&workload.bodies)))
    });
    group.finish();

    let rules = Rules::default();
    assert_eq!(pure_pipeline_redacted(&workload.bodies, &rules), MESSAGES);
    let mut group = c.benchmark_group("logdrain/frame+parse+classify+redact");
    group.throughput(Throughput::Elements(lines));
    group.bench_function("lines", |b| {
        b.iter(|| pure_pipeline_redacted(black_box(&workload.bodies), &rules))
    });
    group.finish();

    let mut out = Vec::with_capacity(4 * TARGET_BODY_BYTES);
    assert_eq!(full_pipeline(&workload.bodies, &mut out), MESSAGES);
    let mut group = c.benchmark_group("logdrain/frame+parse+classify+encode");
    group.throughput(Throughput::Bytes(workload.body_bytes()));
    group.bench_function("bytes", |b| {
        b.iter(|| full_pipeline(black_box(&workload.bodies), &mut out))
    });
    group.throughput(Throughput::Elements(lines));
    group.bench_function("lines", |b| {
        b.iter(|| full_pipeline(black_box(&workload.bodies), &mut out))
    });
    group.finish();

    let mut group = c.benchmark_group("syslog_loose/parse");
    group.throughput(Throughput::Bytes(workload.message_bytes()));
    group.bench_function("bytes", |b| {
        b.iter(|| syslog_loose_parse(black_box(&workload.messages)))
    });
    group.throughput(Throughput::Elements(lines));
    group.bench_function("lines", |b| {
        b.iter(|| syslog_loose_parse(black_box(&workload.messages)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = pipeline
}
criterion_main!(benches);
