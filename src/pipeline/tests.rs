//! The pipeline's first stages (frame → parse → join → classify) on split lines and
//! unparsable frames, and the properties that must hold for any body.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use super::*;
use crate::record::Kind;
use proptest::prelude::*;

/// One framed message `<190>1 TS host app web.1 - MSG`.
fn frame(out: &mut Vec<u8>, ts: &str, procid: &str, msg: &[u8]) {
    let mut m = format!("<190>1 {ts} host app {procid} - ").into_bytes();
    m.extend_from_slice(msg);
    out.extend_from_slice(format!("{} ", m.len()).as_bytes());
    out.extend_from_slice(&m);
}

#[test]
fn split_chunks_in_one_body_become_one_line_even_mid_utf8() {
    // "é" is two bytes; put its first byte at the end of the first chunk.
    let mut line = vec![b'a'; SPLIT_CHUNK_BYTES - 1];
    line.extend_from_slice("é tail".as_bytes());
    let ts = "2024-05-01T10:12:15.000100+00:00";
    let mut body = Vec::new();
    frame(&mut body, ts, "web.1", &line[..SPLIT_CHUNK_BYTES]);
    let mut last = line[SPLIT_CHUNK_BYTES..].to_vec();
    last.push(b'\n');
    frame(&mut body, ts, "web.1", &last);
    frame(&mut body, ts, "web.2", b"other\n");

    let p = process_body(&body, 1 << 20, 0);
    assert_eq!(p.messages, 3);
    assert_eq!(p.records.len(), 2);
    let whole = &p.records[0];
    assert_eq!(whole.parts, 2);
    assert!(!whole.continued);
    assert_eq!(whole.message, String::from_utf8(line.clone()).unwrap());
    let mut raw = format!("<190>1 {ts} host app web.1 - ").into_bytes();
    raw.extend_from_slice(&line);
    raw.push(b'\n');
    assert_eq!(&*whole.raw, &raw[..]);
    assert_eq!(p.records[1].message, "other");
}

#[test]
fn a_chunk_without_its_continuation_is_marked_continued() {
    let ts = "2024-05-01T10:12:15.000100+00:00";
    let mut body = Vec::new();
    frame(&mut body, ts, "web.1", &[b'x'; SPLIT_CHUNK_BYTES]);
    let p = process_body(&body, 1 << 20, 0);
    assert_eq!(p.records.len(), 1);
    assert!(p.records[0].continued);
    assert_eq!(p.records[0].parts, 1);

    // A different timestamp is not a continuation.
    let mut body = Vec::new();
    frame(&mut body, ts, "web.1", &[b'x'; SPLIT_CHUNK_BYTES]);
    frame(
        &mut body,
        "2024-05-01T10:12:15.000101+00:00",
        "web.1",
        b"y\n",
    );
    let p = process_body(&body, 1 << 20, 0);
    assert_eq!(p.records.len(), 2);
    assert!(p.records[0].continued);

    // A line of exactly 10,000 bytes + LF: the chunk and a chunk that is only LF.
    let mut body = Vec::new();
    frame(&mut body, ts, "web.1", &[b'x'; SPLIT_CHUNK_BYTES]);
    frame(&mut body, ts, "web.1", b"\n");
    let p = process_body(&body, 1 << 20, 0);
    assert_eq!(p.records.len(), 1);
    assert_eq!(p.records[0].parts, 2);
    assert_eq!(p.records[0].message.len(), SPLIT_CHUNK_BYTES);
    assert!(!p.records[0].continued);
}

#[test]
fn unparsable_frames_are_kept_raw_with_the_receive_time() {
    let body = b"11 hello world";
    let p = process_body(body, 1 << 20, 42);
    assert_eq!(p.records.len(), 1);
    assert_eq!(p.fallbacks, 1);
    assert_eq!(&*p.records[0].raw, b"hello world");
    assert_eq!(p.records[0].ts_us, 42);
    assert_eq!(p.records[0].kind, Kind::App);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_body_never_panics_and_loses_no_byte(body in prop::collection::vec(any::<u8>(), 0..2000)) {
        let p = process_body(&body, 4096, 7);
        prop_assert!(p.fallbacks <= p.records.len());
        let stored: usize = p.records.iter().map(|r| r.raw.len()).sum();
        prop_assert!(stored <= body.len());
    }
}
