//! PURE, inside the pipeline: joins the chunks of a split long line (docs/wire.md, "Split
//! lines") into one record, without parsing anything twice.

use crate::classify::classify;
use crate::logplex::SyslogMessage;
use crate::record::LogRecord;

/// Log-shuttle splits application lines longer than this many bytes into chunks of exactly
/// this size; only the last chunk ends with LF (docs/wire.md, "Split lines").
pub const SPLIT_CHUNK_BYTES: usize = 10_000;

/// A message that may be a non-final chunk of a split line.
pub(super) fn is_chunk(msg: &SyslogMessage<'_>) -> bool {
    msg.msg.len() == SPLIT_CHUNK_BYTES && !msg.trailing_lf
}

/// Whether `next` continues the split line that `first` starts.
pub(super) fn continues(first: &SyslogMessage<'_>, next: &SyslogMessage<'_>) -> bool {
    next.pri == first.pri
        && next.timestamp_raw == first.timestamp_raw
        && next.procid == first.procid
        && next.app_name == first.app_name
}

/// Emits the pending chunks as one record: joined when there are several, marked `continued`
/// when the last one still waits for its continuation.
pub(super) fn flush<'a>(
    group: &mut Vec<(SyslogMessage<'a>, &'a [u8])>,
    records: &mut Vec<LogRecord<'a>>,
    received_us: i64,
) {
    let continued = group.last().is_some_and(|(msg, _)| is_chunk(msg));
    match group.len() {
        0 => return,
        1 => {
            let (msg, raw) = &group[0];
            let mut record = classify(msg, raw, received_us);
            record.continued = continued;
            records.push(record);
        }
        parts => {
            let (first, first_raw) = &group[0];
            let header_len = first_raw.len() - first.msg.len() - usize::from(first.trailing_lf);
            let mut raw = Vec::with_capacity(parts * (SPLIT_CHUNK_BYTES + 1) + header_len);
            raw.extend_from_slice(&first_raw[..header_len]);
            for (msg, _) in group.iter() {
                raw.extend_from_slice(msg.msg);
            }
            let trailing_lf = group.last().is_some_and(|(msg, _)| msg.trailing_lf);
            let msg_end = raw.len();
            if trailing_lf {
                raw.push(b'\n');
            }
            // The first chunk's header with the joined MSG: classified as is, not re-parsed.
            let joined = SyslogMessage {
                msg: &raw[header_len..msg_end],
                trailing_lf,
                ..*first
            };
            let mut record = classify(&joined, &raw, received_us).into_owned();
            record.parts = u16::try_from(parts).unwrap_or(u16::MAX);
            record.continued = continued;
            records.push(record);
        }
    }
    group.clear();
}
