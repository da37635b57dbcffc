//! PURE: syslog message → [`LogRecord`]: the line's kind from (APP-NAME, PROCID) and the
//! message, its level, and its typed fields. No I/O and no allocation for the common router
//! and app lines beyond the fields' own vector: records borrow from the request body.
//!
//! One file per line family: [`router`], [`api`], [`system`] (dyno manager, Logplex and
//! log-shuttle, with [`loss`] for L10/L12/L13), [`metrics`] (runtime and add-on `sample#`
//! lines), [`postgres`] (Postgres server logs) and [`app`] (everything else). [`logfmt`] and
//! [`text`] are shared by all of them.
//!
//! The pipeline (`crate::pipeline`) frames the body, joins split lines and calls [`classify`]
//! per message; redaction calls [`reclassify`] on the lines it changed.

pub mod api;
pub mod app;
pub mod logfmt;
mod loss;
pub mod metrics;
pub mod postgres;
pub mod router;
pub mod system;
pub mod text;

use crate::logplex::SyslogMessage;
use crate::record::{Columns, Fields, Kind, Level, LogRecord};
use std::borrow::Cow;

pub use loss::{parse_loss, Loss};

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

/// Classifies one parsed message; `raw` is the exact framed bytes it was parsed from (or, for
/// a joined long line, the first chunk's header followed by every chunk's MSG), and `msg.msg`
/// lies inside it.
pub fn classify<'a>(msg: &SyslogMessage<'a>, raw: &'a [u8], received_us: i64) -> LogRecord<'a> {
    let msg_start = (msg.msg.as_ptr() as usize)
        .saturating_sub(raw.as_ptr() as usize)
        .min(raw.len());
    let header = Header {
        ts_us: msg.timestamp.unwrap_or(received_us),
        pri: Some(msg.pri),
        source: lossy(msg.app_name),
        dyno: lossy(msg.procid),
    };
    from_parts(header, text::clean(msg.msg), Cow::Borrowed(raw), msg_start)
}

/// The record `rec` becomes when its message is replaced by `text` (a redacted message): the
/// same header, the same split-line bookkeeping, and `raw` rebuilt as the header's bytes
/// (`rec.raw[..rec.msg_start]`), `text` and the trailing LF if there was one. Only the message
/// is classified again; nothing is parsed twice.
pub fn reclassify(rec: &LogRecord<'_>, text: &str) -> LogRecord<'static> {
    let header_len = rec.msg_start.min(rec.raw.len());
    let mut raw = Vec::with_capacity(header_len + text.len() + 1);
    raw.extend_from_slice(&rec.raw[..header_len]);
    raw.extend_from_slice(text.as_bytes());
    if rec.raw.ends_with(b"\n") {
        raw.push(b'\n');
    }
    let header = Header {
        ts_us: rec.ts_us,
        pri: rec.pri,
        source: rec.source.clone(),
        dyno: rec.dyno.clone(),
    };
    let mut out = from_parts(
        header,
        text::clean(text.as_bytes()),
        Cow::Borrowed(&[]),
        header_len,
    )
    .into_owned();
    out.raw = Cow::Owned(raw);
    out.parts = rec.parts;
    out.continued = rec.continued;
    // A line received over OTLP keeps its trace, tags and stated level.
    if let Some(t) = &rec.telemetry {
        if let Some(level) = t.level {
            out.level = level;
        }
        out.telemetry = Some(Box::new(t.as_ref().clone().into_owned()));
    }
    out
}

/// What a record takes from its syslog header (empty for a line stored raw).
struct Header<'a> {
    ts_us: i64,
    pri: Option<u8>,
    source: Cow<'a, str>,
    dyno: Cow<'a, str>,
}

/// The one place a record is put together: kind, family fields and level from the cleaned
/// message, the rest from the header.
fn from_parts<'a>(
    header: Header<'a>,
    message: Cow<'a, str>,
    raw: Cow<'a, [u8]>,
    msg_start: usize,
) -> LogRecord<'a> {
    let kind = match header.pri {
        Some(_) => kind_of(&header.source, &header.dyno, &message),
        // A line stored raw has no source to tell its family by.
        None => Kind::App,
    };
    let extract = match &message {
        Cow::Borrowed(text) => extract(kind, &header.dyno, text),
        Cow::Owned(text) => extract(kind, &header.dyno, text).into_owned(),
    };
    // Heroku sends nearly everything at one severity, so PRI only speaks when it says error
    // or worse and the message itself says nothing.
    let level = extract.level.unwrap_or(match header.pri.map(|p| p & 7) {
        Some(s @ 0..=3) => Level::from_severity(s),
        _ => Level::Info,
    });
    LogRecord {
        ts_us: header.ts_us,
        pri: header.pri,
        source: header.source,
        dyno: header.dyno,
        kind,
        level,
        message,
        raw,
        msg_start,
        columns: extract.columns,
        fields: extract.fields,
        dropped: extract.dropped,
        parts: 1,
        continued: false,
        telemetry: None,
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
    let header = Header {
        ts_us: received_us,
        pri: None,
        source: Cow::Borrowed(""),
        dyno: Cow::Borrowed(""),
    };
    from_parts(header, text::clean(text), Cow::Borrowed(bytes), 0)
}

/// The line family from (APP-NAME, PROCID) and the message (docs/wire.md, "Line families").
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
/// (docs/wire.md, "Error codes"): the code, the description in parentheses and the text after `->`.
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
