//! PURE: `heroku[router]` lines (PROTOCOL.md §3), every era: logfmt with `at=` first or
//! `sock=` first, empty values on error lines, `connect`/`service` with or without `ms`,
//! quoted or bare `path` and `fwd`, Router 2.0's `protocol=http2.0 tls=true tls_version=…`, and
//! the pre-2012 `Error H10 (App crashed) -> GET host/path dyno=none …` form.
//!
//! The fields the API filters and aggregates on go to typed columns; the rest to `fields`.

use super::logfmt::{self, millis};
use super::{error_code, Extract};
use crate::record::{Columns, Fields, Level, Text, Value};
use std::borrow::Cow;

/// Extracts a router line's fields and its level (from `at=`).
pub fn extract(text: &str) -> Extract<'_> {
    let mut columns = Columns::default();
    let mut fields = Vec::with_capacity(6);
    let mut at = None;

    let logfmt_part = match text.strip_prefix("Error H") {
        Some(_) => legacy_prefix(text, &mut columns, &mut fields, &mut at),
        None => text,
    };
    for pair in logfmt::pairs(logfmt_part) {
        if pair.value.is_empty() {
            continue;
        }
        let value = pair.text();
        match pair.key {
            "at" => {
                at = Some(level_of(&value));
                fields.push((Cow::Borrowed("at"), Value::Str(value)));
            }
            "method" => columns.method = Some(value),
            "path" => columns.path = Some(value),
            "host" => columns.host = Some(value),
            "request_id" => columns.request_id = Some(value),
            "dyno" => columns.router_dyno = Some(value),
            "code" => columns.code = Some(value),
            "status" => match value.parse() {
                Ok(n) => columns.status = Some(n),
                Err(_) => fields.push((Cow::Borrowed("status"), Value::Str(value))),
            },
            "bytes" => match value.parse() {
                Ok(n) => columns.bytes = Some(n),
                Err(_) => fields.push((Cow::Borrowed("bytes"), Value::Str(value))),
            },
            "connect" => match millis(&value) {
                Some(n) => columns.connect_ms = Some(n),
                None => fields.push((Cow::Borrowed("connect"), Value::Str(value))),
            },
            "service" => match millis(&value) {
                Some(n) => columns.service_ms = Some(n),
                None => fields.push((Cow::Borrowed("service"), Value::Str(value))),
            },
            "tls" => fields.push((
                Cow::Borrowed("tls"),
                match &*value {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => Value::Str(value),
                },
            )),
            key => fields.push((Cow::Borrowed(key), Value::Str(value))),
        }
    }
    columns.route = match &columns.path {
        Some(Cow::Borrowed(path)) => Some(route(path)),
        Some(Cow::Owned(path)) => Some(Cow::Owned(route(path).into_owned())),
        None => None,
    };
    Extract {
        level: Some(at.unwrap_or(Level::Info)),
        columns,
        fields: if fields.is_empty() {
            Fields::None
        } else {
            Fields::Pairs(fields)
        },
        dropped: 0,
    }
}

/// A path as `/stats/requests` groups it: the query string removed and id-like segments
/// (numbers, UUIDs, hex of 16 or more digits) replaced by `:id`. `/items/42?ref=a` → `/items/:id`.
pub fn route(path: &str) -> Text<'_> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if !path.split('/').any(is_id) {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if is_id(segment) {
            out.push_str(":id");
        } else {
            out.push_str(segment);
        }
    }
    Cow::Owned(out)
}

/// Numbers, UUIDs and long hex strings.
fn is_id(segment: &str) -> bool {
    let b = segment.as_bytes();
    !b.is_empty()
        && (b.iter().all(u8::is_ascii_digit)
            || super::app::is_uuid(segment)
            || (b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit)))
}

/// `at=` as a level: `error`, `warning`, anything else is info (H80–H82 carry a code at
/// `at=info`).
fn level_of(at: &str) -> Level {
    match at {
        "error" => Level::Error,
        "warning" => Level::Warning,
        _ => Level::Info,
    }
}

/// Reads `Error H10 (App crashed) -> GET crasher.heroku.com/ ` and returns the logfmt rest.
fn legacy_prefix<'t>(
    text: &'t str,
    columns: &mut Columns<'t>,
    fields: &mut Vec<(Text<'t>, Value<'t>)>,
    at: &mut Option<Level>,
) -> &'t str {
    let Some(error) = error_code(text) else {
        return text;
    };
    *at = Some(Level::Error);
    fields.push((Cow::Borrowed("at"), Value::Str(Cow::Borrowed("error"))));
    columns.code = Some(Cow::Borrowed(error.code));
    if let Some(desc) = error.desc {
        fields.push((Cow::Borrowed("desc"), Value::Str(Cow::Borrowed(desc))));
    }
    let Some(detail) = error.detail else {
        return "";
    };
    let mut words = detail.splitn(3, ' ');
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return detail;
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || target.contains('=')
    {
        return detail;
    }
    columns.method = Some(Cow::Borrowed(method));
    match target.find('/') {
        Some(slash) => {
            if slash > 0 {
                columns.host = Some(Cow::Borrowed(&target[..slash]));
            }
            columns.path = Some(Cow::Borrowed(&target[slash..]));
        }
        None => columns.host = Some(Cow::Borrowed(target)),
    }
    words.next().unwrap_or("")
}

#[cfg(test)]
mod tests;
