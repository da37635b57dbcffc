//! PURE: application output (`app[<dyno>]`, and anything no other family claims).
//!
//! A JSON-object message gives its keys (the object itself is stored); a logfmt message (two or
//! more `k=v`) gives its pairs as strings; a request id is found in JSON/logfmt keys and in
//! Rails-style `[uuid]` tags so router and app lines of one request can be joined; and the
//! level is inferred from a `level` key or the usual prefixes (docs/lines.md, "Levels").

use super::logfmt;
use super::{error_code, Extract};
use crate::record::{Columns, Fields, Level, Text, Value};
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Keys whose value is a line's level.
const LEVEL_KEYS: &[&str] = &[
    "level",
    "severity",
    "lvl",
    "loglevel",
    "log.level",
    "levelname",
];
/// Keys whose value is the request id (copied to the `request_id` column).
const REQUEST_ID_KEYS: &[&str] = &[
    "request_id",
    "requestId",
    "request-id",
    "req_id",
    "reqId",
    "x_request_id",
    "x-request-id",
];
/// How many leading words may hold an upper-case level word (`2024-… INFO 4 --- …`).
const LEVEL_WORDS_SCANNED: usize = 8;

/// Extracts an application line's fields, request id and level.
pub fn extract(text: &str) -> Extract<'_> {
    let mut columns = Columns::default();
    let mut level = None;
    let mut fields = Fields::None;

    let trimmed = text.trim();
    if trimmed.starts_with('{') && trimmed.ends_with('}') {
        if let Some(json) = json_object(trimmed) {
            level = json.level;
            columns.request_id = json.request_id;
            fields = Fields::Json(json.text);
        }
    }
    if fields.is_empty() && memchr::memchr(b'=', text.as_bytes()).is_some() {
        let mut pairs = Vec::new();
        for pair in logfmt::pairs(text) {
            pairs.push((Cow::Borrowed(pair.key), Value::Str(pair.text())));
        }
        if pairs.len() >= 2 {
            for (key, value) in &pairs {
                let Value::Str(value) = value else { continue };
                if level.is_none() && LEVEL_KEYS.contains(&&**key) {
                    level = level_word(value);
                } else if columns.request_id.is_none()
                    && !value.is_empty()
                    && REQUEST_ID_KEYS.contains(&&**key)
                {
                    columns.request_id = Some(value.clone());
                }
            }
            fields = Fields::Pairs(pairs);
        }
    }
    if columns.request_id.is_none() {
        columns.request_id = tagged_uuid(text).map(Cow::Borrowed);
    }
    if text.starts_with("Error ") {
        if let Some(error) = error_code(text) {
            columns.code = Some(Cow::Borrowed(error.code));
            let mut pairs = match fields {
                Fields::Pairs(pairs) => pairs,
                _ => Vec::new(),
            };
            if let Some(desc) = error.desc {
                pairs.push((Cow::Borrowed("desc"), Value::Str(Cow::Borrowed(desc))));
            }
            fields = if pairs.is_empty() {
                Fields::None
            } else {
                Fields::Pairs(pairs)
            };
            level = Some(Level::Error);
        }
    }
    Extract {
        level: level.or_else(|| prefix_level(text)),
        columns,
        fields,
        dropped: 0,
    }
}

/// A level name as apps write it, any case: `warn`, `ERROR`, `Fatal`, …
pub fn level_word(word: &str) -> Option<Level> {
    let mut buf = [0u8; 8];
    if word.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..word.len()];
    lower.copy_from_slice(word.as_bytes());
    lower.make_ascii_lowercase();
    Some(match &*lower {
        b"trace" | b"debug" | b"verbose" => Level::Debug,
        b"info" => Level::Info,
        b"notice" => Level::Notice,
        b"warn" | b"warning" => Level::Warning,
        b"err" | b"error" => Level::Error,
        b"fatal" | b"critical" | b"crit" | b"alert" | b"emerg" | b"panic" => Level::Critical,
        _ => return None,
    })
}

/// pino/bunyan numeric levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
fn numeric_level(n: f64) -> Level {
    if n >= 60.0 {
        Level::Critical
    } else if n >= 50.0 {
        Level::Error
    } else if n >= 40.0 {
        Level::Warning
    } else if n >= 30.0 {
        Level::Info
    } else {
        Level::Debug
    }
}

/// The level stated by the usual prefixes of application output.
fn prefix_level(text: &str) -> Option<Level> {
    let t = text.trim_start();
    let b = t.as_bytes();
    // Ruby's Logger: `I, [2024-… #3]  INFO -- : …`.
    if b.len() >= 4 && &b[1..4] == b", [" {
        match b[0] {
            b'D' => return Some(Level::Debug),
            b'I' => return Some(Level::Info),
            b'W' => return Some(Level::Warning),
            b'E' => return Some(Level::Error),
            b'F' => return Some(Level::Critical),
            _ => {}
        }
    }
    if t.starts_with("npm ERR!") {
        return Some(Level::Error);
    }
    if t.starts_with("npm WARN") {
        return Some(Level::Warning);
    }
    if t.starts_with("Traceback (most recent call last)") {
        return Some(Level::Error);
    }
    for (index, word) in t
        .split_ascii_whitespace()
        .take(LEVEL_WORDS_SCANNED)
        .enumerate()
    {
        let bare = word.trim_start_matches('[');
        // `ERROR:name:message` (Python logging), `[INFO]`, `WARN:`.
        let bare = bare.split([']', ':']).next().unwrap_or(bare);
        if index == 0 || bare.bytes().all(|c| c.is_ascii_uppercase()) {
            if let Some(level) = level_word(bare) {
                return Some(level);
            }
        }
        // `KeyError: 'x'`, `java.lang.NullPointerException: …`
        if index == 0 && (word.ends_with("Error:") || word.ends_with("Exception:")) {
            return Some(Level::Error);
        }
    }
    None
}

/// A Rails-style tag `[6762b34f-4e26-4a8e-a032-35a1e58e1b1c]` anywhere in the line.
fn tagged_uuid(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'[', &bytes[from..]) {
        let start = from + at + 1;
        if let Some(candidate) = text.get(start..start + 36) {
            if bytes.get(start + 36) == Some(&b']') && is_uuid(candidate) {
                return Some(candidate);
            }
        }
        from = start;
    }
    None
}

/// 8-4-4-4-12 hex digits (any version: Heroku's own ids are not always v4-shaped).
pub fn is_uuid(text: &str) -> bool {
    let Ok(b) = <&[u8; 36]>::try_from(text.as_bytes()) else {
        return false;
    };
    let hex = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_hexdigit);
    b[8] == b'-'
        && b[13] == b'-'
        && b[18] == b'-'
        && b[23] == b'-'
        && hex(0..8)
        && hex(9..13)
        && hex(14..18)
        && hex(19..23)
        && hex(24..36)
}

/// What a JSON-object message gives: the text to store, its level and request id.
struct JsonObject<'t> {
    /// The object, safe to store as jsonb.
    text: Text<'t>,
    /// From a level key.
    level: Option<Level>,
    /// From a request-id key.
    request_id: Option<Text<'t>>,
}

/// Validates a JSON object and reads its level and request id. Objects with `\u` escapes or
/// extreme numbers (which jsonb would refuse: `\u0000`, lone surrogates, exponents beyond its
/// range) are parsed fully and rewritten; all others are stored as they are.
fn json_object(text: &str) -> Option<JsonObject<'_>> {
    if needs_rewrite(text) {
        return rewritten(text);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let top = de.deserialize_map(TopVisitor).ok()?;
    de.end().ok()?;
    Some(JsonObject {
        text: Cow::Borrowed(text),
        level: top.level,
        request_id: top.request_id,
    })
}

/// Whether the text holds something jsonb may refuse (see [`json_object`]).
fn needs_rewrite(text: &str) -> bool {
    let b = text.as_bytes();
    if memchr::memchr_iter(b'\\', b).any(|at| b.get(at + 1) == Some(&b'u')) {
        return true;
    }
    let mut digits = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            digits += 1;
            if digits > 300 {
                return true;
            }
            continue;
        }
        if (c == b'e' || c == b'E') && digits > 0 {
            let exp = b[i + 1..]
                .iter()
                .skip_while(|c| matches!(c, b'+' | b'-'))
                .take_while(|c| c.is_ascii_digit())
                .count();
            if exp >= 3 {
                return true;
            }
        }
        digits = 0;
    }
    false
}

/// The slow path of [`json_object`]: a full parse, NULs replaced, written back.
fn rewritten(text: &str) -> Option<JsonObject<'static>> {
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    if !value.is_object() {
        return None;
    }
    scrub_nuls(&mut value);
    let serde_json::Value::Object(map) = &value else {
        return None;
    };
    let level = LEVEL_KEYS
        .iter()
        .find_map(|k| map.get(*k))
        .and_then(level_of_json);
    let request_id = REQUEST_ID_KEYS
        .iter()
        .find_map(|k| map.get(*k).and_then(|v| v.as_str()))
        .filter(|s| !s.is_empty())
        .map(|s| Cow::Owned(s.to_owned()));
    Some(JsonObject {
        text: Cow::Owned(value.to_string()),
        level,
        request_id,
    })
}

/// Replaces NUL characters in every string and key (jsonb cannot hold `\u0000`).
fn scrub_nuls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_nuls),
        serde_json::Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(k.replace('\0', "\u{FFFD}"), v);
                }
            }
            map.values_mut().for_each(scrub_nuls);
        }
        _ => {}
    }
}

/// A level key's value: a name or a pino number.
fn level_of_json(value: &serde_json::Value) -> Option<Level> {
    match value {
        serde_json::Value::String(s) => level_word(s),
        serde_json::Value::Number(n) => n.as_f64().map(numeric_level),
        _ => None,
    }
}

/// The level and request id read while validating the top level of an object.
struct TopLevel<'de> {
    level: Option<Level>,
    request_id: Option<Text<'de>>,
}

/// Walks the top-level keys, reading only the interesting values and skipping the rest.
struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = TopLevel<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut top = TopLevel {
            level: None,
            request_id: None,
        };
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if LEVEL_KEYS.contains(&&*key) {
                let value: serde_json::Value = map.next_value()?;
                if top.level.is_none() {
                    top.level = level_of_json(&value);
                }
            } else if REQUEST_ID_KEYS.contains(&&*key) {
                let value: serde_json::Value = map.next_value()?;
                if top.request_id.is_none() {
                    top.request_id = value
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(|s| Cow::Owned(s.to_owned()));
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(top)
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests;
