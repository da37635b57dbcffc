//! PURE: `heroku[router]` lines (docs/wire.md, "Router lines"), every era: logfmt with `at=` first or
//! `sock=` first, empty values on error lines, `connect`/`service` with or without `ms`,
//! quoted or bare `path` and `fwd`, Router 2.0's `protocol=http2.0 tls=true tls_version=…`, and
//! the pre-2012 `Error H10 (App crashed) -> GET host/path dyno=none …` form.
//!
//! The fields the API filters and aggregates on go to typed columns; the rest to `fields`.

use super::logfmt::{self, millis, parse_int};
use super::{error_code, Extract};
use crate::record::{Columns, Fields, Level, Text, Value};
use crate::scan::{find_by, find_byte, lanes_equal};
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
        match RouterKey::of(pair.key) {
            RouterKey::At => {
                at = Some(level_of(&value));
                fields.push((Cow::Borrowed("at"), Value::Str(value)));
            }
            RouterKey::Method => columns.method = Some(value),
            RouterKey::Path => columns.path = Some(value),
            RouterKey::Host => columns.host = Some(value),
            RouterKey::RequestId => columns.request_id = Some(value),
            RouterKey::Dyno => columns.router_dyno = Some(value),
            RouterKey::Code => columns.code = Some(value),
            RouterKey::Status => match parse_int(&value) {
                Some(n) => columns.status = Some(n),
                None => fields.push((Cow::Borrowed("status"), Value::Str(value))),
            },
            RouterKey::Bytes => match parse_int(&value) {
                Some(n) => columns.bytes = Some(n),
                None => fields.push((Cow::Borrowed("bytes"), Value::Str(value))),
            },
            RouterKey::Connect => match millis(&value) {
                Some(n) => columns.connect_ms = Some(n),
                None => fields.push((Cow::Borrowed("connect"), Value::Str(value))),
            },
            RouterKey::Service => match millis(&value) {
                Some(n) => columns.service_ms = Some(n),
                None => fields.push((Cow::Borrowed("service"), Value::Str(value))),
            },
            RouterKey::Tls => fields.push((
                Cow::Borrowed("tls"),
                match &*value {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => Value::Str(value),
                },
            )),
            RouterKey::Other => fields.push((Cow::Borrowed(pair.key), Value::Str(value))),
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

/// The router keys with a meaning of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouterKey {
    At,
    Method,
    Path,
    Host,
    RequestId,
    Dyno,
    Code,
    Status,
    Bytes,
    Connect,
    Service,
    Tls,
    Other,
}

impl RouterKey {
    /// The key's meaning, decided on its length first.
    #[inline]
    fn of(key: &str) -> RouterKey {
        match key.as_bytes() {
            b"at" => RouterKey::At,
            b"tls" => RouterKey::Tls,
            [_, _, _, _] => match key.as_bytes() {
                b"path" => RouterKey::Path,
                b"host" => RouterKey::Host,
                b"dyno" => RouterKey::Dyno,
                b"code" => RouterKey::Code,
                _ => RouterKey::Other,
            },
            b"bytes" => RouterKey::Bytes,
            [_, _, _, _, _, _] => match key.as_bytes() {
                b"method" => RouterKey::Method,
                b"status" => RouterKey::Status,
                _ => RouterKey::Other,
            },
            [_, _, _, _, _, _, _] => match key.as_bytes() {
                b"connect" => RouterKey::Connect,
                b"service" => RouterKey::Service,
                _ => RouterKey::Other,
            },
            b"request_id" => RouterKey::RequestId,
            _ => RouterKey::Other,
        }
    }
}

/// A path as `/stats/requests` groups it: the query string removed and id-like segments
/// (numbers, UUIDs, hex of 16 or more digits) replaced by `:id`. `/items/42?ref=a` → `/items/:id`.
pub fn route(path: &str) -> Text<'_> {
    let end = find_by(path.as_bytes(), 0, |w| {
        lanes_equal(w, b'?') | lanes_equal(w, b'#')
    });
    let path = &path[..end];
    let mut segments = Segments { path, pos: 0 };
    let Some(first_id) = segments.find(|&(start, end)| is_id(&path[start..end])) else {
        return Cow::Borrowed(path);
    };
    let mut out = String::with_capacity(path.len() + 8);
    out.push_str(&path[..first_id.0]);
    out.push_str(":id");
    for (start, end) in segments {
        out.push('/');
        if is_id(&path[start..end]) {
            out.push_str(":id");
        } else {
            out.push_str(&path[start..end]);
        }
    }
    Cow::Owned(out)
}

/// The `/`-separated segments of a path as byte ranges, like `path.split('/')`.
struct Segments<'p> {
    /// The path.
    path: &'p str,
    /// Where the next segment starts; past the end when done.
    pos: usize,
}

impl Iterator for Segments<'_> {
    type Item = (usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize)> {
        let bytes = self.path.as_bytes();
        let start = self.pos;
        if start > bytes.len() {
            return None;
        }
        let end = find_byte(bytes, start, b'/');
        self.pos = end + 1;
        Some((start, end))
    }
}

/// Numbers, UUIDs and long hex strings.
#[inline]
fn is_id(segment: &str) -> bool {
    let b = segment.as_bytes();
    if b.len() == 36 && super::app::is_uuid(segment) {
        return true;
    }
    if b.is_empty() {
        return false;
    }
    let mut digits = true;
    for &c in b {
        if !c.is_ascii_hexdigit() {
            return false;
        }
        digits &= c.is_ascii_digit();
    }
    digits || b.len() >= 16
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
