//! Benchmarks redaction on the messages of the synthetic corpus: the default rules (where
//! nearly every line has nothing to mask, so this measures the no-secret fast path), then
//! with the opt-in e-mail masking and client-IP hashing on as well.
//!
//! Run: `cargo bench --bench redact -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logdrain::logplex::DEFAULT_MAX_FRAME_LEN;
use logdrain::pipeline::process_body;
use logdrain::rules::{compile, RedactConfig, Rules, RulesConfig};
use logdrain::synth::Corpus;
use std::hint::black_box;

/// Messages in the corpus.
const MESSAGES: usize = 20_000;
/// Fixed seed, so every run measures the same bytes.
const SEED: u64 = 0x10_9d_7a_1b;

/// `(APP-NAME, PROCID, message)` of every corpus line.
fn lines() -> Vec<(String, String, String)> {
    let mut body = Vec::new();
    Corpus::new(SEED).body(MESSAGES, &mut body);
    process_body(&body, DEFAULT_MAX_FRAME_LEN, 0)
        .records
        .into_iter()
        .map(|r| {
            (
                r.source.into_owned(),
                r.dyno.into_owned(),
                r.message.into_owned(),
            )
        })
        .collect()
}

/// Redacts every line; returns how many changed.
fn redact_all(rules: &Rules, lines: &[(String, String, String)]) -> usize {
    let mut changed = 0;
    for (app, procid, text) in lines {
        if let Some(out) = rules.redact(app, procid, text) {
            black_box(&out);
            changed += 1;
        }
    }
    changed
}

fn redact(c: &mut Criterion) {
    let lines = lines();
    let bytes: u64 = lines.iter().map(|(_, _, t)| t.len() as u64).sum();
    let defaults = Rules::default();
    let everything = compile(&RulesConfig {
        redact: RedactConfig {
            emails: true,
            hash_client_ips: true,
            ip_hash_salt: Some("bench".into()),
            ..RedactConfig::default()
        },
        ..RulesConfig::default()
    })
    .unwrap_or_default();
    for (name, rules) in [("default", &defaults), ("all_on", &everything)] {
        let changed = redact_all(rules, &lines);
        eprintln!("redact/{name}: {changed} of {} lines changed", lines.len());
        let mut group = c.benchmark_group(format!("redact/{name}"));
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function("lines", |b| b.iter(|| redact_all(rules, black_box(&lines))));
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function("bytes", |b| b.iter(|| redact_all(rules, black_box(&lines))));
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = redact
}
criterion_main!(benches);
