//! Well-formed octet-counted bodies through `pipeline::run` (with rules that change nothing, so
//! every `raw` can be compared with its frame), so that the parser and the classifier see many
//! correctly framed messages.
//!
//! The input is read as lines: every LF-terminated piece (LF kept; the last piece may lack
//! one) becomes one frame `"<len> <piece>"`, and the frames are concatenated. Seeds are
//! therefore plain syslog messages, one per line (see `seeds/framed/`).
//!
//! Every frame but the last ends with LF, so none is a non-final chunk of a split long line
//! and no two frames are ever joined into one record.
//!
//! Invariants checked: one message and one record (of one part) per frame, in order; a frame within the cap keeps its exact
//! bytes in `raw`; a frame over the cap is stored raw with its length prefix (`TooLong`);
//! `fallbacks` counts the raw records; no `message` contains NUL.

#![no_main]

use libfuzzer_sys::fuzz_target;
use logdrain::logplex::DEFAULT_MAX_FRAME_LEN;
use logdrain::pipeline::{run, Context};
use logdrain::rules::Rules;
use std::sync::OnceLock;

/// An arbitrary but fixed receive time (2023-11-14T22:13:20Z).
const RECEIVED_US: i64 = 1_700_000_000_000_000;

/// A tiny cap (longer messages take the `TooLong` path) and the server default.
const CAPS: [usize; 2] = [64, DEFAULT_MAX_FRAME_LEN];

/// Rules that change nothing; compiled once.
fn no_rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(Rules::none)
}

fuzz_target!(|data: &[u8]| {
    let pieces: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let mut body = Vec::with_capacity(data.len() + pieces.len() * 8);
    for piece in &pieces {
        body.extend_from_slice(format!("{} ", piece.len()).as_bytes());
        body.extend_from_slice(piece);
    }

    for cap in CAPS {
        let ctx = Context {
            app_id: 1,
            received_us: RECEIVED_US,
            tags: None,
            frame_id: None,
            max_frame: cap,
        };
        let processed = run(&body, &ctx, no_rules());
        let records = &processed.records;
        assert_eq!(
            processed.messages,
            pieces.len(),
            "cap {cap}: {} messages for {} frames",
            processed.messages,
            pieces.len()
        );
        assert_eq!(
            records.len(),
            pieces.len(),
            "cap {cap}: {} records for {} frames",
            records.len(),
            pieces.len()
        );
        let raw_records = records.iter().filter(|r| r.pri.is_none()).count();
        assert_eq!(processed.fallbacks, raw_records, "cap {cap}: fallbacks");

        for (i, (record, piece)) in records.iter().zip(&pieces).enumerate() {
            assert!(
                !record.message.contains('\0'),
                "cap {cap}: record {i} message contains NUL"
            );
            assert_eq!(record.parts, 1, "cap {cap}: record {i} was joined");
            let raw: &[u8] = &record.raw;
            if piece.len() <= cap {
                assert_eq!(raw, *piece, "cap {cap}: record {i} raw is not its frame");
            } else {
                let mut framed = format!("{} ", piece.len()).into_bytes();
                framed.extend_from_slice(piece);
                assert_eq!(
                    raw,
                    &framed[..],
                    "cap {cap}: over-cap record {i} raw is not prefix + frame"
                );
                assert!(
                    record.pri.is_none(),
                    "cap {cap}: over-cap record {i} parsed"
                );
            }
        }
    }
});
