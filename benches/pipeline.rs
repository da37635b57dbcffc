//! Benchmarks the pure pipeline on synthetic Heroku traffic: framing + parsing alone, then
//! with joining and classification, then the whole of `pipeline::run` — what `POST /logs` does
//! with a body (frame → parse → join → classify → default rules → binary COPY encoding) — and
//! the same entry point with rules that change nothing, next to `syslog_loose` parsing the same
//! messages already framed, as a yardstick.
//!
//! Run: `cargo bench --bench pipeline -- --warm-up-time 1 --measurement-time 3`
//! (`-- logdrain/pipeline/lines` for the headline figure alone).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logdrain::logplex::{frames, parse, Frame, DEFAULT_MAX_FRAME_LEN};
use logdrain::pipeline::{process_body, run, Context};
use logdrain::rules::Rules;
use logdrain::synth::Corpus;
use std::hint::black_box;

/// Messages in the corpus.
const MESSAGES: usize = 20_000;
/// Logplex fills a body until the next message would reach this size (`http_drain_target_bytes`).
const TARGET_BODY_BYTES: usize = 102_400;
/// Fixed seed, so every run measures the same bytes.
const SEED: u64 = 0x10_9d_7a_1b;
/// The receive time given to the pipeline (2023-11-14T22:13:20Z).
const RECEIVED_US: i64 = 1_700_000_000_000_000;

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

/// The first stages alone: frame → parse → join → classify with field extraction.
fn frame_parse_classify(bodies: &[Vec<u8>]) -> usize {
    let mut lines = 0;
    for body in bodies {
        let processed = process_body(body, DEFAULT_MAX_FRAME_LEN, RECEIVED_US);
        lines += processed.records.len();
        black_box(&processed);
    }
    lines
}

/// What `POST /logs` does with a body before queueing it, through the same entry point:
/// `pipeline::run` (frame → parse → join → classify → rules → COPY encoding).
fn whole_pipeline(bodies: &[Vec<u8>], rules: &Rules) -> usize {
    let mut lines = 0;
    let ctx = Context {
        app_id: 1,
        received_us: RECEIVED_US,
        tags: None,
        frame_id: Some("0123456789ABCDEF0123456789ABCDEF"),
        max_frame: DEFAULT_MAX_FRAME_LEN,
    };
    for body in bodies {
        let prepared = run(body, &ctx, rules);
        lines += prepared.records.len();
        black_box(&prepared);
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

    assert_eq!(frame_parse_classify(&workload.bodies), MESSAGES);
    let mut group = c.benchmark_group("logdrain/frame+parse+classify");
    group.throughput(Throughput::Bytes(workload.body_bytes()));
    group.bench_function("bytes", |b| {
        b.iter(|| frame_parse_classify(black_box(&workload.bodies)))
    });
    group.throughput(Throughput::Elements(lines));
    group.bench_function("lines", |b| {
        b.iter(|| frame_parse_classify(black_box(&workload.bodies)))
    });
    group.finish();

    // The headline: what the server does per body, default rules (builtin redaction) on.
    let rules = Rules::default();
    assert_eq!(whole_pipeline(&workload.bodies, &rules), MESSAGES);
    let mut group = c.benchmark_group("logdrain/pipeline");
    group.throughput(Throughput::Bytes(workload.body_bytes()));
    group.bench_function("bytes", |b| {
        b.iter(|| whole_pipeline(black_box(&workload.bodies), &rules))
    });
    group.throughput(Throughput::Elements(lines));
    group.bench_function("lines", |b| {
        b.iter(|| whole_pipeline(black_box(&workload.bodies), &rules))
    });
    group.finish();

    // The same entry point with rules that change nothing: the difference is the rules' cost.
    let none = Rules::none();
    assert_eq!(whole_pipeline(&workload.bodies, &none), MESSAGES);
    let mut group = c.benchmark_group("logdrain/pipeline-without-rules");
    group.throughput(Throughput::Elements(lines));
    group.bench_function("lines", |b| {
        b.iter(|| whole_pipeline(black_box(&workload.bodies), &none))
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
