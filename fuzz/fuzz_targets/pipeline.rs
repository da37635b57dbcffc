//! Arbitrary bytes as an `application/logplex-1` body through `pipeline::run`, the entry point
//! the server uses (framer → RFC 5424 parser → split-line joining → classifier → rules →
//! COPY encoding), with several frame caps, once with rules that change nothing and once with
//! the default rules (builtin redaction), so the redactor sees every line too.
//!
//! Invariants checked (all documented on `pipeline::run`, `Prepared`, `LogRecord` and
//! `Frame`):
//! - no panic, for any body, cap and rules;
//! - `fallbacks` counts exactly the records stored raw (`pri == None`);
//! - every message (frame) ends up in exactly one record: the records' `parts` add up to
//!   `messages`, and no record has zero parts;
//! - a raw record is an `app` line stamped with the receive time, with no source or dyno;
//! - a parsed record's PRI is at most 191;
//! - every record's `raw` is non-empty, and the records never hold more bytes than the body
//!   (frames are disjoint slices of it; a joined line keeps only its first chunk's header),
//!   save what redaction adds (at most 12 bytes per value it replaced);
//! - `message` never contains NUL (Postgres text cannot hold it);
//! - one COPY tuple per record, and no rule event without rules;
//! - a redacted message redacted again changes nothing (redaction is idempotent).

#![no_main]

use libfuzzer_sys::fuzz_target;
use logdrain::logplex::DEFAULT_MAX_FRAME_LEN;
use logdrain::pipeline::{run, Context, Prepared};
use logdrain::record::Kind;
use logdrain::record::RuleAction;
use logdrain::rules::Rules;
use std::sync::OnceLock;

/// An arbitrary but fixed receive time (2023-11-14T22:13:20Z), to tell raw records apart.
const RECEIVED_US: i64 = 1_700_000_000_000_000;

/// The caps tried on every input: tiny (most declared lengths are over it, so the `TooLong`
/// and resync paths run), small, and the server default (the only one that lets 10,000-byte
/// chunks through to be joined).
const CAPS: [usize; 3] = [32, 4096, DEFAULT_MAX_FRAME_LEN];

/// Rules that change nothing, and the default rules; compiled once.
fn rule_sets() -> &'static [Rules; 2] {
    static RULES: OnceLock<[Rules; 2]> = OnceLock::new();
    RULES.get_or_init(|| [Rules::none(), Rules::default()])
}

fuzz_target!(|body: &[u8]| {
    for cap in CAPS {
        for rules in rule_sets() {
            let ctx = Context {
                app_id: 1,
                received_us: RECEIVED_US,
                tags: None,
                frame_id: None,
                max_frame: cap,
            };
            let prepared = run(body, &ctx, rules);
            check(body, cap, rules, &prepared);
        }
    }
});

fn check(body: &[u8], cap: usize, rules: &Rules, processed: &Prepared<'_>) {
    let records = &processed.records;
    if !rules.redacts() {
        assert!(
            processed.rule_events.is_empty(),
            "cap {cap}: events without rules"
        );
    }
    assert_eq!(
        processed.rows.is_empty(),
        records.is_empty(),
        "cap {cap}: rows and records disagree"
    );
    let replaced: i64 = processed
        .rule_events
        .iter()
        .filter(|e| e.action == RuleAction::Redacted)
        .map(|e| e.count)
        .sum();
    assert!(
        processed.fallbacks <= records.len(),
        "cap {cap}: {} fallbacks for {} records",
        processed.fallbacks,
        records.len()
    );
    let raw_records = records.iter().filter(|r| r.pri.is_none()).count();
    assert_eq!(
        processed.fallbacks, raw_records,
        "cap {cap}: fallbacks must count the records stored raw"
    );
    assert!(
        records.len() <= processed.messages,
        "cap {cap}: {} records for {} messages",
        records.len(),
        processed.messages
    );
    let parts: usize = records.iter().map(|r| usize::from(r.parts)).sum();
    assert_eq!(
        parts, processed.messages,
        "cap {cap}: records' parts must add up to the messages in the body"
    );

    let mut raw_total = 0_usize;
    for (i, record) in records.iter().enumerate() {
        assert!(record.parts >= 1, "cap {cap}: record {i} has no parts");
        assert!(
            !record.raw.is_empty(),
            "cap {cap}: record {i} has empty raw"
        );
        raw_total += record.raw.len();
        assert!(
            !record.message.contains('\0'),
            "cap {cap}: record {i} message contains NUL: {:?}",
            record.message
        );
        match record.pri {
            None => {
                assert_eq!(record.ts_us, RECEIVED_US, "cap {cap}: raw record {i} ts");
                assert_eq!(record.kind, Kind::App, "cap {cap}: raw record {i} kind");
                assert!(
                    record.source.is_empty() && record.dyno.is_empty(),
                    "cap {cap}: raw record {i} has source/dyno"
                );
                assert_eq!(record.dropped, 0, "cap {cap}: raw record {i} dropped");
            }
            Some(pri) => assert!(pri <= 191, "cap {cap}: record {i} PRI {pri} > 191"),
        }
        if rules.redacts() {
            assert_eq!(
                rules.redact(&record.source, &record.dyno, &record.message),
                None,
                "cap {cap}: record {i} changes when redacted again: {:?}",
                record.message
            );
        }
    }
    let grown = usize::try_from(replaced)
        .unwrap_or(usize::MAX)
        .saturating_mul(12);
    assert!(
        raw_total <= body.len().saturating_add(grown),
        "cap {cap}: records hold {raw_total} raw bytes, body has {}",
        body.len()
    );
}
