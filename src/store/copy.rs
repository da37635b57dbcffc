//! PURE: encodes lines as PostgreSQL `COPY … FROM STDIN (FORMAT binary)` tuples.
//!
//! Encoding happens in the request handler, in parallel across requests, so the batcher only
//! concatenates finished byte chunks and the database does no text parsing. Measured against
//! `INSERT … SELECT FROM UNNEST(…)` with the same rows (benches/store_write.rs): binary COPY
//! is the faster of the two, so the write path uses it.

use crate::logplex::write_line;
use crate::record::{write_fields_json, Fields, LogRecord};

/// Columns in the order [`encode_rows`] writes them; the writer's COPY statement uses this.
pub const LINE_COLUMNS: &str =
    "app_id, ts, received_at, pri, source, dyno, kind, level, message, raw, tags, fields, \
     frame_id, status, service_ms, connect_ms, bytes, method, path, host, route, router_dyno, \
     request_id, code, parts, continued, trace_id, span_id";

const FIELDS_PER_ROW: i16 = 28;

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// The 19-byte signature, flags and extension length that open a binary COPY stream.
pub const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The end-of-data marker of a binary COPY stream.
pub const COPY_TRAILER: &[u8] = &(-1i16).to_be_bytes();

/// What every line of one request shares.
pub struct RowContext<'a> {
    /// The app the lines belong to.
    pub app_id: i64,
    /// Receive time, microseconds since the Unix epoch.
    pub received_us: i64,
    /// Drain-URL tags as a JSON object text, when the URL had any.
    pub tags: Option<&'a str>,
    /// The request's Logplex-Frame-Id.
    pub frame_id: Option<&'a str>,
}

/// Appends one binary COPY tuple per record to `out`.
///
/// `raw` is written NULL when it is exactly what the database rebuilds from the other columns
/// (see [`raw_is_rebuilt`]): nearly every Logplex line, so a hot row holds its text once.
pub fn encode_rows(out: &mut Vec<u8>, ctx: &RowContext<'_>, records: &[LogRecord<'_>]) {
    let mut scratch = Vec::with_capacity(512);
    for rec in records {
        out.extend_from_slice(&FIELDS_PER_ROW.to_be_bytes());
        put_i64(out, ctx.app_id);
        put_i64(out, rec.ts_us - PG_EPOCH_OFFSET_US);
        put_i64(out, ctx.received_us - PG_EPOCH_OFFSET_US);
        put_opt(out, rec.pri.map(i16::from), put_i16);
        put_bytes(out, rec.source.as_bytes());
        put_bytes(out, rec.dyno.as_bytes());
        put_bytes(out, rec.kind.as_str().as_bytes());
        put_i16(out, rec.level.severity());
        put_bytes(out, rec.message.as_bytes());
        if raw_is_rebuilt(rec, &mut scratch) {
            put_null(out);
        } else {
            put_bytes(out, &rec.raw);
        }
        let telemetry = rec.telemetry.as_deref();
        // An OTLP line's tags already hold the request's drain tags and its attributes.
        match telemetry.and_then(|t| t.tags.as_deref()).or(ctx.tags) {
            Some(tags) => put_jsonb(out, tags.as_bytes()),
            None => put_null(out),
        }
        put_fields(out, &rec.fields);
        put_opt(out, ctx.frame_id, put_str);
        let c = &rec.columns;
        put_opt(out, c.status, put_i16);
        put_opt(out, c.service_ms, put_i32);
        put_opt(out, c.connect_ms, put_i32);
        put_opt(out, c.bytes, put_i64);
        put_opt(out, c.method.as_deref(), put_str);
        put_opt(out, c.path.as_deref(), put_str);
        put_opt(out, c.host.as_deref(), put_str);
        put_opt(out, c.route.as_deref(), put_str);
        put_opt(out, c.router_dyno.as_deref(), put_str);
        put_opt(out, c.request_id.as_deref(), put_str);
        put_opt(out, c.code.as_deref(), put_str);
        put_opt(
            out,
            (rec.parts > 1).then(|| i16::try_from(rec.parts).unwrap_or(i16::MAX)),
            put_i16,
        );
        put_opt(out, rec.continued.then_some(true), put_bool);
        put_opt(out, telemetry.and_then(|t| t.trace_id.as_deref()), put_str);
        put_opt(out, telemetry.and_then(|t| t.span_id.as_deref()), put_str);
    }
}

/// Whether `rec.raw` is byte for byte what the SQL function `line_raw(pri, ts, source, dyno,
/// message)` (migration 0005) returns: `<PRI>1 YYYY-MM-DDTHH:MM:SS.UUUUUU+00:00 host SOURCE
/// DYNO - MESSAGE` and LF, the header Logplex writes. Such a line's `raw` is stored NULL and
/// rebuilt on read. Only years 1000–9999 are claimed, where `to_char`'s `YYYY` and this
/// formatter agree; anything else (no PRI, another timestamp spelling, invalid UTF-8, NULs,
/// colour codes, redaction, an OTLP line without LF) keeps its bytes.
pub fn raw_is_rebuilt(rec: &LogRecord<'_>, scratch: &mut Vec<u8>) -> bool {
    const YEAR_1000_US: i64 = -30_610_224_000_000_000;
    const YEAR_10000_US: i64 = 253_402_300_800_000_000;
    let Some(pri) = rec.pri else {
        return false;
    };
    if !(YEAR_1000_US..YEAR_10000_US).contains(&rec.ts_us) {
        return false;
    }
    let (source, dyno, message) = (
        rec.source.as_bytes(),
        rec.dyno.as_bytes(),
        rec.message.as_bytes(),
    );
    // Header (at most 4 + 1 + 32 + 6 bytes), the three texts, separators and LF.
    if rec.raw.len() != header_len(pri) + source.len() + dyno.len() + message.len() + 1 {
        return false;
    }
    scratch.clear();
    write_line(scratch, u16::from(pri), rec.ts_us, source, dyno, message);
    scratch.push(b'\n');
    scratch[..] == rec.raw[..]
}

/// Bytes of the rebuilt raw besides the source, dyno and message (and the final LF):
/// `<PRI>1 `, the 32-byte timestamp, ` host `, ` ` and ` - `.
fn header_len(pri: u8) -> usize {
    let digits = match pri {
        0..=9 => 1,
        10..=99 => 2,
        _ => 3,
    };
    1 + digits + 3 + 32 + 6 + 1 + 3
}

/// The `fields` jsonb value, written in place (length patched afterwards), or NULL.
fn put_fields(out: &mut Vec<u8>, fields: &Fields<'_>) {
    let at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    out.push(1); // jsonb binary format version
    if write_fields_json(fields, out) {
        let len = i32::try_from(out.len() - at - 4).unwrap_or(i32::MAX);
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    } else {
        out.truncate(at);
        put_null(out);
    }
}

fn put_opt<T>(out: &mut Vec<u8>, value: Option<T>, put: fn(&mut Vec<u8>, T)) {
    match value {
        Some(v) => put(out, v),
        None => put_null(out),
    }
}

fn put_str(out: &mut Vec<u8>, v: &str) {
    put_bytes(out, v.as_bytes());
}

fn put_bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(&1i32.to_be_bytes());
    out.push(u8::from(v));
}

fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&4i32.to_be_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_i16(out: &mut Vec<u8>, v: i16) {
    out.extend_from_slice(&2i32.to_be_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, v: &[u8]) {
    // Bodies are capped far below 2 GiB, so a field length always fits an i32.
    let len = i32::try_from(v.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(v);
}

fn put_jsonb(out: &mut Vec<u8>, json: &[u8]) {
    let len = i32::try_from(json.len() + 1).unwrap_or(i32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(1); // jsonb binary format version
    out.extend_from_slice(json);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Columns, Kind, Level};
    use std::borrow::Cow;

    #[test]
    fn a_row_has_one_length_prefixed_value_per_column() {
        let rec = LogRecord {
            ts_us: PG_EPOCH_OFFSET_US + 1,
            pri: None,
            source: "app".into(),
            dyno: "web.1".into(),
            kind: Kind::App,
            level: Level::Info,
            message: "hi".into(),
            raw: Cow::Borrowed(b"hi\n"),
            msg_start: 0,
            columns: Columns::default(),
            fields: Fields::None,
            dropped: 0,
            parts: 1,
            continued: false,
            telemetry: None,
        };
        let ctx = RowContext {
            app_id: 7,
            received_us: PG_EPOCH_OFFSET_US,
            tags: None,
            frame_id: None,
        };
        let mut out = Vec::new();
        encode_rows(&mut out, &ctx, &[rec]);
        assert_eq!(&out[..2], &28i16.to_be_bytes());
        assert_eq!(LINE_COLUMNS.split(',').count(), 28);
        // app_id
        assert_eq!(&out[2..6], &8i32.to_be_bytes());
        assert_eq!(&out[6..14], &7i64.to_be_bytes());
        // ts is one microsecond after the PostgreSQL epoch
        assert_eq!(&out[18..26], &1i64.to_be_bytes());
        // the last field (span_id) is NULL
        assert_eq!(&out[out.len() - 4..], &(-1i32).to_be_bytes());
    }
}
