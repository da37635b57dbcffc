//! PURE: the query API's parameters (`GET /api/openapi.json`) parsed into the store's filters
//! (`store::filter`), each error naming its parameter. No I/O: `now_us` is passed in so durations (`15m`) are testable.

use crate::logplex::timestamp::parse_micros;
use crate::record::{Kind, Level};
use crate::units::parse_duration;

use crate::store::filter::{Cursor, LogFilter, StatusRange, Term, TimeRange};

/// Default `n` for `/logs` and `/events`.
pub const DEFAULT_LINES: i64 = 100;
/// Default `n` for `/tail`'s backlog.
pub const DEFAULT_TAIL_LINES: i64 = 10;
/// The largest `n`.
pub const MAX_LINES: i64 = 10_000;
/// Every parameter `/logs` understands, for the OpenAPI document and its sync test.
pub const LOG_PARAMS: &[&str] = &[
    "n",
    "source",
    "dyno",
    "type",
    "kind",
    "level",
    "q",
    "request_id",
    "trace_id",
    "status",
    "code",
    "path",
    "since",
    "until",
    "cursor",
    "format",
];

/// A parameter that could not be understood: answered 400 `bad_param`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct ParamError {
    /// The parameter's name.
    pub param: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn bad(param: &'static str, message: impl Into<String>) -> ParamError {
    ParamError {
        param,
        message: message.into(),
    }
}

/// How lines are written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `heroku logs` text, one line each.
    Text,
    /// `{"lines": […], "next_cursor": …}`.
    Json,
    /// One JSON line per line.
    Ndjson,
    /// Server-Sent Events (tail only).
    Sse,
}

/// A line read as a request asks for it: the store's filter, and how the lines are written out.
/// It dereferences to its [`LogFilter`], so `q.n` or `q.kinds` read as the filter's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogQuery {
    /// Which lines.
    pub filter: LogFilter,
    /// Output format, when the request names one (`format=` or its Accept header).
    pub format: Option<Format>,
}

impl std::ops::Deref for LogQuery {
    type Target = LogFilter;

    fn deref(&self) -> &LogFilter {
        &self.filter
    }
}

impl std::ops::DerefMut for LogQuery {
    fn deref_mut(&mut self) -> &mut LogFilter {
        &mut self.filter
    }
}

/// Parses a query string (without `?`) for `/logs`-style endpoints. `default_n` is the `n`
/// when absent; `accept` is the request's Accept header.
pub fn parse_log_query(
    query: &str,
    accept: Option<&str>,
    default_n: i64,
    now_us: i64,
) -> Result<LogQuery, ParamError> {
    let mut q = LogQuery {
        filter: LogFilter {
            n: default_n,
            ..LogFilter::default()
        },
        format: None,
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = value.trim();
        match &*key {
            "n" => {
                let n: i64 = value.parse().map_err(|_| bad("n", "not a whole number"))?;
                if n < 0 {
                    return Err(bad("n", "must be 0 or more"));
                }
                q.n = n.min(MAX_LINES);
            }
            "source" => q.source = Some(nonempty("source", value)?),
            "dyno" => q.dyno = Some(nonempty("dyno", value)?),
            "type" => q.process_type = Some(nonempty("type", value)?),
            "kind" => {
                for k in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                    let kind = Kind::parse(k).ok_or_else(|| {
                        bad("kind", format!("{k:?} is not one of router, app, api, system, runtime_metric, addon"))
                    })?;
                    if !q.kinds.contains(&kind) {
                        q.kinds.push(kind);
                    }
                }
            }
            "level" => q.level = Some(parse_level(value)?),
            "q" => q.terms = terms(value),
            "request_id" => q.request_id = Some(nonempty("request_id", value)?),
            "trace_id" => q.trace_id = Some(parse_trace_id(value)?),
            "status" => q.status = Some(parse_status(value)?),
            "code" => q.code = Some(parse_code(value)?),
            "path" => q.path = Some(nonempty("path", value)?),
            "since" => q.since_us = Some(parse_time("since", value, now_us)?),
            "until" => q.until_us = Some(parse_time("until", value, now_us)?),
            "cursor" => {
                q.cursor = Some(
                    Cursor::decode(value)
                        .ok_or_else(|| bad("cursor", "not a cursor from next_cursor"))?,
                )
            }
            "format" => q.format = Some(parse_format(value)?),
            _ => {} // unknown parameters are ignored, as most HTTP APIs do
        }
    }
    if q.format.is_none() {
        q.format = accept_format(accept);
    }
    Ok(q)
}

/// A W3C trace id: 32 hex digits, answered in lower case as stored.
fn parse_trace_id(value: &str) -> Result<String, ParamError> {
    if value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(bad("trace_id", "must be 32 hex digits (a W3C trace id)"))
    }
}

fn nonempty(param: &'static str, value: &str) -> Result<String, ParamError> {
    if value.is_empty() {
        Err(bad(param, "must not be empty"))
    } else {
        Ok(value.to_owned())
    }
}

/// `debug` … `critical` (also `warn`, `err`, `fatal`).
pub fn parse_level(value: &str) -> Result<Level, ParamError> {
    crate::classify::app::level_word(value).ok_or_else(|| {
        bad(
            "level",
            format!("{value:?} is not one of debug, info, notice, warning, error, critical"),
        )
    })
}

/// `503`, `5xx` or `400-499`.
pub fn parse_status(value: &str) -> Result<StatusRange, ParamError> {
    let err = || {
        bad(
            "status",
            format!("{value:?} is not a status like 503, 5xx or 400-499"),
        )
    };
    let code = |s: &str| -> Result<i16, ParamError> {
        s.parse::<i16>()
            .ok()
            .filter(|c| (100..=999).contains(c))
            .ok_or_else(err)
    };
    let lower = value.to_ascii_lowercase();
    if let Some(first) = lower.strip_suffix("xx") {
        let d: i16 = first
            .parse()
            .ok()
            .filter(|d| (1..=9).contains(d))
            .ok_or_else(err)?;
        return Ok(StatusRange {
            from: d * 100,
            to: d * 100 + 99,
        });
    }
    if let Some((a, b)) = value.split_once('-') {
        let (from, to) = (code(a)?, code(b)?);
        if from > to {
            return Err(err());
        }
        return Ok(StatusRange { from, to });
    }
    let c = code(value)?;
    Ok(StatusRange { from: c, to: c })
}

/// `H12`, `r14`, `L10`.
pub fn parse_code(value: &str) -> Result<String, ParamError> {
    let upper = value.to_ascii_uppercase();
    let b = upper.as_bytes();
    if b.len() == 3 && matches!(b[0], b'H' | b'R' | b'L') && b[1..].iter().all(u8::is_ascii_digit) {
        Ok(upper)
    } else {
        Err(bad(
            "code",
            format!("{value:?} is not a Heroku error code like H12, R14 or L10"),
        ))
    }
}

/// RFC 3339 or a duration back from now (`90s`, `15m`, `2h`, `7d`).
pub fn parse_time(param: &'static str, value: &str, now_us: i64) -> Result<i64, ParamError> {
    if let Some(us) = parse_micros(value.as_bytes()) {
        return Ok(us);
    }
    match parse_duration(value) {
        Ok(d) => Ok(now_us - i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 2)),
        Err(_) => Err(bad(param, "not a time or duration")),
    }
}

fn parse_format(value: &str) -> Result<Format, ParamError> {
    match value {
        "text" => Ok(Format::Text),
        "json" => Ok(Format::Json),
        "ndjson" => Ok(Format::Ndjson),
        "sse" => Ok(Format::Sse),
        _ => Err(bad(
            "format",
            format!("{value:?} is not one of text, json, ndjson"),
        )),
    }
}

/// The format an Accept header asks for, if it asks for one we serve.
fn accept_format(accept: Option<&str>) -> Option<Format> {
    let accept = accept?;
    if accept.contains("text/event-stream") {
        Some(Format::Sse)
    } else if accept.contains("application/x-ndjson") {
        Some(Format::Ndjson)
    } else if accept.contains("application/json") {
        Some(Format::Json)
    } else {
        None
    }
}

/// Splits `q` into words and `"quoted phrases"`.
pub fn terms(q: &str) -> Vec<Term> {
    let mut out = Vec::new();
    let mut rest = q.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            let (phrase, tail) = after.split_once('"').unwrap_or((after, ""));
            if !phrase.trim().is_empty() {
                out.push(phrase.to_owned());
            }
            rest = tail.trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
            rest = rest[end..].trim_start();
        }
    }
    out
}

/// `since`/`until` for `stats/*`, `metrics` and `loss` (default: the last hour).
pub fn parse_range(query: &str, now_us: i64) -> Result<TimeRange, ParamError> {
    let mut range = TimeRange {
        since_us: now_us - 3_600_000_000,
        until_us: now_us,
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "since" => range.since_us = parse_time("since", value.trim(), now_us)?,
            "until" => range.until_us = parse_time("until", value.trim(), now_us)?,
            _ => {}
        }
    }
    Ok(range)
}

/// A named parameter's value, if present.
pub fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
}

#[cfg(test)]
mod tests;
