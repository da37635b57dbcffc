//! The filters the store's reads take: which lines (`LogFilter`), where a page ends (`Cursor`),
//! which router statuses (`StatusRange`) and which span of time (`TimeRange`). Plain values
//! owned by the store that reads them; the query layer (`query::params`) fills them from a
//! query string.

use crate::record::{Kind, Level};

/// An HTTP status filter: one status or an inclusive range (`5xx` is 500–599).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    /// Lowest status matched.
    pub from: i16,
    /// Highest status matched.
    pub to: i16,
}

/// Where the previous page ended: its oldest line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// That line's timestamp, microseconds since the epoch.
    pub ts_us: i64,
    /// That line's id.
    pub id: i64,
}

impl Cursor {
    /// The opaque text form handed to clients.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.ts_us, self.id)
    }

    /// Reads [`Cursor::encode`]'s form.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (ts, id) = text.split_once('.')?;
        Some(Cursor {
            ts_us: ts.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// One text-search term: a word or a quoted phrase, matched case-insensitively.
pub type Term = String;

/// Every filter of a line read (`/logs`, `/tail`, `/events`, `/requests`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogFilter {
    /// How many lines.
    pub n: i64,
    /// `app` or `heroku`.
    pub source: Option<String>,
    /// Exact PROCID.
    pub dyno: Option<String>,
    /// Process type: `web` matches `web.1`, `web.2`, …
    pub process_type: Option<String>,
    /// Any of these kinds.
    pub kinds: Vec<Kind>,
    /// At least this level.
    pub level: Option<Level>,
    /// Words and phrases, all required.
    pub terms: Vec<Term>,
    /// Lines carrying this request id.
    pub request_id: Option<String>,
    /// OTLP lines of this trace (32 lower-case hex digits).
    pub trace_id: Option<String>,
    /// Lines carrying this request id or belonging to this trace (`/requests/{id}`).
    pub request_or_trace_id: Option<String>,
    /// Router lines with a status in this range.
    pub status: Option<StatusRange>,
    /// Heroku error code.
    pub code: Option<String>,
    /// Router paths starting with this.
    pub path: Option<String>,
    /// Inclusive lower time bound, µs.
    pub since_us: Option<i64>,
    /// Exclusive upper time bound, µs.
    pub until_us: Option<i64>,
    /// Continue below this line.
    pub cursor: Option<Cursor>,
}

/// The span an aggregate read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start, µs.
    pub since_us: i64,
    /// Exclusive end, µs.
    pub until_us: i64,
}
