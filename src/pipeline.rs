//! PURE: the ingest pipeline, the one way a POST body becomes rows. Body bytes + the app
//! context + the rules → COPY-encoded rows, the counts the handler reports and the rule events:
//!
//! ```text
//! frame (logplex::frames) → parse (logplex::parse) → join split lines (join) → classify
//!   → rules (drop, sample, redact; a redacted line is reclassified, not re-parsed) → encode
//! ```
//!
//! [`run`] is the entry point the `POST /logs` handler, the benches, the profiling example and
//! the fuzz targets share, so what they measure and fuzz is what the server does. No I/O: the
//! caller supplies the receive time, and logs and counts from what it gets back.
//!
//! [`run_otlp`] is the same for an OTLP/HTTP export: `otlp::records` stands in for the first
//! stages (each record becomes the syslog line Logplex would have sent, classified by the same
//! classifier), then the same rules and encoder ([`prepare`]).

mod join;

pub use join::SPLIT_CHUNK_BYTES;

use crate::classify::{classify, raw_line};
use crate::logplex::{self, Frame, SyslogMessage};
use crate::record::{LogRecord, RuleEvent};
use crate::rules::Rules;
use crate::store::copy::{encode_rows, RowContext};

/// What every line of one request shares, and the one limit the pipeline applies.
#[derive(Debug, Clone, Copy)]
pub struct Context<'c> {
    /// The app the lines belong to.
    pub app_id: i64,
    /// Receive time, microseconds since the Unix epoch: the time of lines without one.
    pub received_us: i64,
    /// Drain-URL tags as a JSON object text, when the URL had any.
    pub tags: Option<&'c str>,
    /// The request's `Logplex-Frame-Id`, stored on every row.
    pub frame_id: Option<&'c str>,
    /// Largest single frame trusted (`LOGDRAIN_MAX_FRAME`); larger ones are stored raw.
    pub max_frame: usize,
}

/// What one body became, ready to queue.
#[derive(Debug, Default)]
pub struct Prepared<'a> {
    /// The lines to store, in body order, after the rules: they borrow the body unless they
    /// were joined or redacted.
    pub records: Vec<LogRecord<'a>>,
    /// One binary COPY tuple per record (no header, no trailer).
    pub rows: Vec<u8>,
    /// Messages (frames) in the body: what `Logplex-Msg-Count` counts. More than
    /// `records.len()` when split chunks were joined or rules removed lines.
    pub messages: usize,
    /// Messages that did not parse as syslog (or could not be framed) and are stored raw.
    pub fallbacks: usize,
    /// Last frames whose declared length ran past the end of the body but whose bytes parsed
    /// as a message, stored as that message (a `frame_length_mismatch` loss event).
    pub length_mismatches: usize,
    /// Messages the body's L10/L12/L13 lines reported lost.
    pub dropped: u64,
    /// What the rules did, per rule and action.
    pub rule_events: Vec<RuleEvent>,
}

impl Prepared<'_> {
    /// How many rows `rows` holds.
    pub fn lines(&self) -> u32 {
        u32::try_from(self.records.len()).unwrap_or(u32::MAX)
    }
}

/// Runs one body through the whole pipeline. Nothing is lost: a frame that does not parse is a
/// raw `app` line stamped with the receive time; only drop and sample rules remove lines, and
/// they are counted in `rule_events`.
pub fn run<'a>(body: &'a [u8], ctx: &Context<'_>, rules: &Rules) -> Prepared<'a> {
    let Processed {
        records,
        fallbacks,
        messages,
        length_mismatches,
    } = process_body(body, ctx.max_frame, ctx.received_us);
    let mut prepared = prepare(records, ctx, rules);
    prepared.messages = messages;
    prepared.fallbacks = fallbacks;
    prepared.length_mismatches = length_mismatches;
    prepared
}

/// Runs the rendered records of one OTLP export (all for the app of `ctx`) through the rest
/// of the pipeline: classify, rules, encode. `ctx.tags` is unused: an OTLP line's tags (the
/// drain tags among them) travel in its telemetry.
pub fn run_otlp<'a>(
    lines: impl IntoIterator<Item = &'a crate::otlp::Line>,
    ctx: &Context<'_>,
    rules: &Rules,
) -> Prepared<'a> {
    let records = crate::otlp::records(lines, ctx.received_us);
    let messages = records.len();
    let mut prepared = prepare(records, ctx, rules);
    prepared.messages = messages;
    prepared
}

/// The stages after classification, shared by both ways in: the rules (drop, sample, redact),
/// then the COPY encoding. `messages` is set to the records given; the caller corrects it.
pub fn prepare<'a>(
    mut records: Vec<LogRecord<'a>>,
    ctx: &Context<'_>,
    rules: &Rules,
) -> Prepared<'a> {
    let messages = records.len();
    let rule_events = crate::rules::apply(rules, &mut records).into_events();
    // A COPY tuple is the line's bytes twice (message and raw) plus the typed columns.
    let bytes: usize = records.iter().map(|r| r.raw.len()).sum();
    let mut rows = Vec::with_capacity(bytes * 2 + 64 * records.len());
    let row_ctx = RowContext {
        app_id: ctx.app_id,
        received_us: ctx.received_us,
        tags: ctx.tags,
        frame_id: ctx.frame_id,
    };
    encode_rows(&mut rows, &row_ctx, &records);
    Prepared {
        dropped: records.iter().map(|r| r.dropped).sum(),
        records,
        rows,
        messages,
        fallbacks: 0,
        length_mismatches: 0,
        rule_events,
    }
}

/// What the first stages (frame → parse → join → classify) made of one body, before the rules.
#[derive(Debug, Default)]
pub struct Processed<'a> {
    /// Every line to store, in body order: parsed messages and raw fallbacks alike.
    pub records: Vec<LogRecord<'a>>,
    /// Lines that did not parse as syslog (or could not be framed) and are stored raw.
    pub fallbacks: usize,
    /// Messages (frames) in the body: what `Logplex-Msg-Count` counts. More than
    /// `records.len()` when split chunks were joined.
    pub messages: usize,
    /// Last frames whose declared length ran past the end of the body but whose bytes parsed
    /// as a message, stored as that message.
    pub length_mismatches: usize,
}

/// Splits, parses, joins and classifies a whole `application/logplex-1` body: the stages of
/// [`run`] before the rules, for the benches and tests that measure or check them alone.
/// Nothing is dropped: a frame that does not parse becomes a raw `app` line stamped with
/// `received_us`.
///
/// A last frame whose count runs past the end of the body ([`Frame::Overrun`]) is read as the
/// message that follows its length prefix when that parses (counted in `length_mismatches`),
/// and stored raw, prefix included, when it does not.
///
/// Consecutive messages of one source with the same PRI and timestamp, where each but the
/// last has exactly [`SPLIT_CHUNK_BYTES`] of MSG and no LF, are the chunks of one long line
/// and are stored as one record (`parts` > 1). A chunk whose continuation is not in this body
/// is stored with `continued` set.
pub fn process_body(body: &[u8], max_frame: usize, received_us: i64) -> Processed<'_> {
    let mut out = Processed {
        // Heroku messages average a couple of hundred bytes.
        records: Vec::with_capacity(body.len() / 160 + 1),
        ..Processed::default()
    };
    let mut group: Vec<(SyslogMessage<'_>, &[u8])> = Vec::new();
    for frame in logplex::frames(body, max_frame) {
        out.messages += 1;
        let bytes = match frame {
            Frame::Message(bytes) => bytes,
            Frame::Overrun { message, .. } if logplex::parse(message).is_ok() => {
                out.length_mismatches += 1;
                message
            }
            Frame::Invalid { bytes, .. } | Frame::Overrun { bytes, .. } => {
                join::flush(&mut group, &mut out.records, received_us);
                out.fallbacks += 1;
                out.records.push(raw_line(bytes, received_us));
                continue;
            }
        };
        let Ok(msg) = logplex::parse(bytes) else {
            join::flush(&mut group, &mut out.records, received_us);
            out.fallbacks += 1;
            out.records.push(raw_line(bytes, received_us));
            continue;
        };
        if let Some((first, _)) = group.first() {
            if join::continues(first, &msg) {
                let more = join::is_chunk(&msg);
                group.push((msg, bytes));
                if !more {
                    join::flush(&mut group, &mut out.records, received_us);
                }
                continue;
            }
            join::flush(&mut group, &mut out.records, received_us);
        }
        if join::is_chunk(&msg) {
            group.push((msg, bytes));
        } else {
            out.records.push(classify(&msg, bytes, received_us));
        }
    }
    join::flush(&mut group, &mut out.records, received_us);
    out
}

#[cfg(test)]
mod tests;
