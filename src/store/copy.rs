//! PURE: encodes lines as PostgreSQL `COPY … FROM STDIN (FORMAT binary)` tuples.
//!
//! Encoding happens in the request handler, in parallel across requests, so the batcher only
//! concatenates finished byte chunks and the database does no text parsing. Measured against
//! `INSERT … SELECT FROM UNNEST(…)` with the same rows (benches/store_write.rs): binary COPY
//! is the faster of the two, so the write path uses it.

use crate::record::LogRecord;

/// Columns in the order [`encode_rows`] writes them; the writer's COPY statement uses this.
pub const LINE_COLUMNS: &str =
    "app_id, ts, received_at, pri, source, dyno, kind, level, message, raw, tags, fields, frame_id";

const FIELDS_PER_ROW: i16 = 13;

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
pub fn encode_rows(out: &mut Vec<u8>, ctx: &RowContext<'_>, records: &[LogRecord]) {
    let mut fields_json = Vec::new();
    for rec in records {
        out.extend_from_slice(&FIELDS_PER_ROW.to_be_bytes());
        put_i64(out, ctx.app_id);
        put_i64(out, rec.ts_us - PG_EPOCH_OFFSET_US);
        put_i64(out, ctx.received_us - PG_EPOCH_OFFSET_US);
        match rec.pri {
            Some(pri) => put_i16(out, i16::from(pri)),
            None => put_null(out),
        }
        put_bytes(out, rec.source.as_bytes());
        put_bytes(out, rec.dyno.as_bytes());
        put_bytes(out, rec.kind.as_str().as_bytes());
        put_i16(out, rec.level.severity());
        put_bytes(out, rec.message.as_bytes());
        put_bytes(out, &rec.raw);
        match ctx.tags {
            Some(tags) => put_jsonb(out, tags.as_bytes()),
            None => put_null(out),
        }
        match &rec.fields {
            Some(map) => {
                fields_json.clear();
                // Serialising a map of JSON values into a Vec cannot fail.
                if serde_json::to_writer(&mut fields_json, map).is_ok() {
                    put_jsonb(out, &fields_json);
                } else {
                    put_null(out);
                }
            }
            None => put_null(out),
        }
        match ctx.frame_id {
            Some(id) => put_bytes(out, id.as_bytes()),
            None => put_null(out),
        }
    }
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
    use crate::record::{Kind, Level};

    #[test]
    fn a_row_has_thirteen_length_prefixed_fields() {
        let rec = LogRecord {
            ts_us: PG_EPOCH_OFFSET_US + 1,
            pri: None,
            source: "app".into(),
            dyno: "web.1".into(),
            kind: Kind::App,
            level: Level::Info,
            message: "hi".into(),
            raw: b"hi\n".to_vec(),
            fields: None,
            dropped: 0,
        };
        let ctx = RowContext {
            app_id: 7,
            received_us: PG_EPOCH_OFFSET_US,
            tags: None,
            frame_id: None,
        };
        let mut out = Vec::new();
        encode_rows(&mut out, &ctx, &[rec]);
        assert_eq!(&out[..2], &13i16.to_be_bytes());
        // app_id
        assert_eq!(&out[2..6], &8i32.to_be_bytes());
        assert_eq!(&out[6..14], &7i64.to_be_bytes());
        // ts is one microsecond after the PostgreSQL epoch
        assert_eq!(&out[18..26], &1i64.to_be_bytes());
        // the last field (frame_id) is NULL
        assert_eq!(&out[out.len() - 4..], &(-1i32).to_be_bytes());
    }
}
