//! Arbitrary bytes as an `application/logplex-1` body through the whole pure pipeline
//! (framer → RFC 5424 parser → split-line reassembly → classifier), with several frame caps.
//!
//! Invariants checked (all documented on `process_body`, `Processed`, `LogRecord` and
//! `Frame`):
//! - no panic, for any body and cap;
//! - `fallbacks` counts exactly the records stored raw (`pri == None`);
//! - every message (frame) ends up in exactly one record: the records' `parts` add up to
//!   `messages`, and no record has zero parts;
//! - a raw record is an `app` line stamped with the receive time, with no source or dyno;
//! - a parsed record's PRI is at most 191;
//! - every record's `raw` is non-empty, and the records never hold more bytes than the body
//!   (frames are disjoint slices of it; a joined line keeps only its first chunk's header);
//! - `message` never contains NUL (Postgres text cannot hold it).

#![no_main]

use libfuzzer_sys::fuzz_target;
use logdrain::classify::{process_body, Processed};
use logdrain::logplex::DEFAULT_MAX_FRAME_LEN;
use logdrain::record::Kind;

/// An arbitrary but fixed receive time (2023-11-14T22:13:20Z), to tell raw records apart.
const RECEIVED_US: i64 = 1_700_000_000_000_000;

/// The caps tried on every input: tiny (most declared lengths are over it, so the `TooLong`
/// and resync paths run), small, and the server default (the only one that lets 10,000-byte
/// chunks through to be joined).
const CAPS: [usize; 3] = [32, 4096, DEFAULT_MAX_FRAME_LEN];

fuzz_target!(|body: &[u8]| {
    for cap in CAPS {
        let processed = process_body(body, cap, RECEIVED_US);
        check(body, cap, &processed);
    }
});

fn check(body: &[u8], cap: usize, processed: &Processed<'_>) {
    let records = &processed.records;
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
    }
    assert!(
        raw_total <= body.len(),
        "cap {cap}: records hold {raw_total} raw bytes, body has {}",
        body.len()
    );
}
