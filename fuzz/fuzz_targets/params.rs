//! Arbitrary query strings and Accept headers through the query API's parameter parsers
//! (`/logs`, `/tail`, `/events` filters and the aggregate endpoints' time range).
//!
//! Invariants: no panic; `n` within 0..=MAX_LINES; every error names a known parameter; a
//! cursor that decodes re-encodes to a string that decodes to the same cursor; a status range
//! is ordered.

#![no_main]

use libfuzzer_sys::fuzz_target;
use logdrain::query::params::{parse_log_query, parse_range, LOG_PARAMS, MAX_LINES};
use logdrain::store::filter::Cursor;

/// 2026-11-01T10:00:00Z.
const NOW_US: i64 = 1_793_527_200_000_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (query, accept) = text.split_once('\n').unwrap_or((&text, ""));
    match parse_log_query(query, Some(accept), 100, NOW_US) {
        Ok(q) => {
            assert!((0..=MAX_LINES).contains(&q.n));
            if let Some(s) = q.status {
                assert!(s.from <= s.to);
            }
            if let Some(c) = q.cursor {
                assert_eq!(Cursor::decode(&c.encode()), Some(c));
            }
        }
        Err(e) => assert!(LOG_PARAMS.contains(&e.param), "unknown param {}", e.param),
    }
    if let Err(e) = parse_range(query, NOW_US) {
        assert!(e.param == "since" || e.param == "until");
    }
});
