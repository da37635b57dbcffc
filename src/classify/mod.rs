//! PURE: syslog message → [`LogRecord`]: the line's kind from (APP-NAME, PROCID) and the
//! message, its level, and its typed fields. No I/O and no allocation for the common router
//! and app lines beyond the fields' own vector: records borrow from the request body.
//!
//! One file per line family: [`router`], [`api`], [`system`] (dyno manager, Logplex and
//! log-shuttle, with [`loss`] for L10/L12/L13), [`metrics`] (runtime and add-on `sample#`
//! lines), [`postgres`] (Postgres server logs) and [`app`] (everything else). [`logfmt`] and
//! [`text`] are shared by all of them.
//!
//! [`process_body`] is the whole pure pipeline (frame → parse → reassemble split lines →
//! classify) that the HTTP handler, the benches and the fuzz targets all call.

pub mod api;
pub mod app;
pub mod logfmt;
mod loss;
pub mod metrics;
pub mod postgres;
pub mod router;
pub mod system;
pub mod text;

use crate::logplex::{self, Frame, SyslogMessage};
use crate::record::{Columns, Fields, Kind, Level, LogRecord};
use std::borrow::Cow;

pub use loss::{parse_loss, Loss};

/// Log-shuttle splits application lines longer than this many bytes into chunks of exactly
/// this size; only the last chunk ends with LF (PROTOCOL.md §2.3, §6).
pub const SPLIT_CHUNK_BYTES: usize = 10_000;

/// What one body turned into.
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
    /// as a message, stored as that message (a `frame_length_mismatch` loss event).
    pub length_mismatches: usize,
}

/// What a family parser found in one message.
#[derive(Debug, Default)]
pub struct Extract<'t> {
    /// The level the line states, if it states one.
    pub level: Option<Level>,
    /// Typed fields.
    pub columns: Columns<'t>,
    /// Other fields.
    pub fields: Fields<'t>,
    /// Messages reported lost (L10/L12/L13).
    pub dropped: u64,
}

impl Extract<'_> {
    /// The value of one extracted field that has no column of its own (tests and tools).
    pub fn field(&self, key: &str) -> Option<&crate::record::Value<'_>> {
        match &self.fields {
            Fields::Pairs(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Detaches the extract from the text it borrows.
    fn into_owned(self) -> Extract<'static> {
        Extract {
            level: self.level,
            columns: self.columns.into_owned(),
            fields: self.fields.into_owned(),
            dropped: self.dropped,
        }
    }
}

/// Splits, parses, reassembles and classifies a whole `application/logplex-1` body. Nothing is
/// dropped: a frame that does not parse becomes a raw `app` line stamped with `received_us`.
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
                flush_group(&mut group, &mut out, received_us);
                out.fallbacks += 1;
                out.records.push(raw_line(bytes, received_us));
                continue;
            }
        };
        let Ok(msg) = logplex::parse(bytes) else {
            flush_group(&mut group, &mut out, received_us);
            out.fallbacks += 1;
            out.records.push(raw_line(bytes, received_us));
            continue;
        };
        if let Some((first, _)) = group.first() {
            if continues(first, &msg) {
                let more = is_chunk(&msg);
                group.push((msg, bytes));
                if !more {
                    flush_group(&mut group, &mut out, received_us);
                }
                continue;
            }
            flush_group(&mut group, &mut out, received_us);
        }
        if is_chunk(&msg) {
            group.push((msg, bytes));
        } else {
            out.records.push(classify(&msg, bytes, received_us));
        }
    }
    flush_group(&mut group, &mut out, received_us);
    out
}

/// A message that may be a non-final chunk of a split line.
fn is_chunk(msg: &SyslogMessage<'_>) -> bool {
    msg.msg.len() == SPLIT_CHUNK_BYTES && !msg.trailing_lf
}

/// Whether `next` continues the split line that `first` starts.
fn continues(first: &SyslogMessage<'_>, next: &SyslogMessage<'_>) -> bool {
    next.pri == first.pri
        && next.timestamp_raw == first.timestamp_raw
        && next.procid == first.procid
        && next.app_name == first.app_name
}

/// Emits the pending chunks as one record: reassembled when there are several, marked
/// `continued` when the last one still waits for its continuation.
fn flush_group<'a>(
    group: &mut Vec<(SyslogMessage<'a>, &'a [u8])>,
    out: &mut Processed<'a>,
    received_us: i64,
) {
    let continued = group.last().is_some_and(|(msg, _)| is_chunk(msg));
    match group.len() {
        0 => return,
        1 => {
            let (msg, raw) = &group[0];
            let mut record = classify(msg, raw, received_us);
            record.continued = continued;
            out.records.push(record);
        }
        parts => {
            let (first, first_raw) = &group[0];
            let header_len = first_raw.len() - first.msg.len();
            let mut raw = Vec::with_capacity(parts * (SPLIT_CHUNK_BYTES + 1) + header_len);
            raw.extend_from_slice(&first_raw[..header_len]);
            for (msg, _) in group.iter() {
                raw.extend_from_slice(msg.msg);
            }
            if group.last().is_some_and(|(msg, _)| msg.trailing_lf) {
                raw.push(b'\n');
            }
            let mut record = match logplex::parse(&raw) {
                Ok(msg) => classify(&msg, &raw, received_us).into_owned(),
                Err(_) => raw_line(&raw, received_us).into_owned(),
            };
            record.raw = Cow::Owned(raw);
            record.parts = u16::try_from(parts).unwrap_or(u16::MAX);
            record.continued = continued;
            out.records.push(record);
        }
    }
    group.clear();
}

/// Classifies one parsed message; `raw` is the exact framed bytes it was parsed from.
pub fn classify<'a>(msg: &SyslogMessage<'a>, raw: &'a [u8], received_us: i64) -> LogRecord<'a> {
    let source = lossy(msg.app_name);
    let dyno = lossy(msg.procid);
    let message = text::clean(msg.msg);
    let kind = kind_of(&source, &dyno, &message);
    let extract = match &message {
        Cow::Borrowed(text) => extract(kind, &dyno, text),
        Cow::Owned(text) => extract(kind, &dyno, text).into_owned(),
    };
    // Heroku sends nearly everything at one severity, so PRI only speaks when it says error
    // or worse and the message itself says nothing.
    let level = extract.level.unwrap_or(match msg.severity() {
        s @ 0..=3 => Level::from_severity(s),
        _ => Level::Info,
    });
    LogRecord {
        ts_us: msg.timestamp.unwrap_or(received_us),
        pri: Some(msg.pri),
        source,
        dyno,
        kind,
        level,
        message,
        raw: Cow::Borrowed(raw),
        columns: extract.columns,
        fields: extract.fields,
        dropped: extract.dropped,
        parts: 1,
        continued: false,
    }
}

/// `String::from_utf8_lossy`, without its chunked decoder for the valid (short) header tokens.
#[inline]
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Runs the family parser of `kind` over the message text.
fn extract<'t>(kind: Kind, dyno: &str, text: &'t str) -> Extract<'t> {
    match kind {
        Kind::Router => router::extract(text),
        Kind::Api => api::extract(text),
        Kind::System => system::extract(text),
        Kind::RuntimeMetric => metrics::extract(text, metrics::Origin::Runtime),
        Kind::Addon if dyno.starts_with("postgres.") => postgres::extract(text),
        Kind::Addon => metrics::extract(text, metrics::Origin::Addon),
        Kind::App => app::extract(text),
    }
}

/// A line that could not be framed or parsed: stored whole, as an `app` line with the receive
/// time, so that nothing is ever lost. Its text still gets the application parsers.
pub fn raw_line(bytes: &[u8], received_us: i64) -> LogRecord<'_> {
    let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let message = text::clean(text);
    let extract = match &message {
        Cow::Borrowed(text) => app::extract(text),
        Cow::Owned(text) => app::extract(text).into_owned(),
    };
    LogRecord {
        ts_us: received_us,
        pri: None,
        source: Cow::Borrowed(""),
        dyno: Cow::Borrowed(""),
        kind: Kind::App,
        level: extract.level.unwrap_or(Level::Info),
        message,
        raw: Cow::Borrowed(bytes),
        columns: extract.columns,
        fields: extract.fields,
        dropped: 0,
        parts: 1,
        continued: false,
    }
}

/// The line family from (APP-NAME, PROCID) and the message (PROTOCOL.md §0 item 12).
pub fn kind_of(source: &str, dyno: &str, message: &str) -> Kind {
    match source {
        "heroku" => match dyno {
            "router" => Kind::Router,
            "api" => Kind::Api,
            "logplex" => Kind::System,
            _ if metrics::is_runtime_metrics(message) => Kind::RuntimeMetric,
            _ => Kind::System,
        },
        "app" => match dyno {
            "api" => Kind::Api,
            "log-shuttle" => Kind::System,
            "heroku-postgres" | "heroku-redis" | "heroku-pgbouncer" => Kind::Addon,
            d if d.starts_with("postgres.") => Kind::Addon,
            _ => Kind::App,
        },
        _ if dyno == "api" => Kind::Api,
        _ => Kind::App,
    }
}

/// `Error H12 (Request timeout) -> detail`, the shape of every Heroku error line
/// (PROTOCOL.md §5.1): the code, the description in parentheses and the text after `->`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode<'t> {
    /// `H12`, `R14`, `L10`.
    pub code: &'t str,
    /// The words in parentheses.
    pub desc: Option<&'t str>,
    /// What follows ` -> `.
    pub detail: Option<&'t str>,
}

/// Reads `Error <H|R|L><2 digits>[ (desc)][ -> detail]`.
pub fn error_code(text: &str) -> Option<ErrorCode<'_>> {
    let rest = text.strip_prefix("Error ")?;
    let b = rest.as_bytes();
    if b.len() < 3
        || !matches!(b[0], b'H' | b'R' | b'L')
        || !b[1].is_ascii_digit()
        || !b[2].is_ascii_digit()
        || b.get(3).is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let (code, mut rest) = rest.split_at(3);
    let mut desc = None;
    if let Some(inner) = rest.strip_prefix(" (") {
        if let Some(end) = inner.find(')') {
            desc = Some(&inner[..end]);
            rest = &inner[end + 1..];
        }
    }
    let detail = rest.strip_prefix(" -> ");
    Some(ErrorCode { code, desc, detail })
}

#[cfg(test)]
mod tests;
