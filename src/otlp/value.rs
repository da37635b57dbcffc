//! PURE: OTLP `AnyValue`s as JSON text and as message text, and ids as hex.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use std::borrow::Cow;

/// Appends `value` as JSON: strings, numbers and booleans as themselves, arrays and key/value
/// lists as arrays and objects, bytes as base64 (as OTLP/JSON writes them), absent as `null`.
/// Non-finite doubles become `null` (JSON has no NaN).
pub fn write_json(out: &mut String, value: Option<&AnyValue>) {
    match value.and_then(|v| v.value.as_ref()) {
        // A string-table index only means something inside a profiles dictionary.
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => write_str(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(n)) => out.push_str(&n.to_string()),
        Some(Value::DoubleValue(f)) if f.is_finite() => out.push_str(
            &serde_json::Number::from_f64(*f).map_or_else(|| "null".into(), |n| n.to_string()),
        ),
        Some(Value::DoubleValue(_)) => out.push_str("null"),
        Some(Value::BytesValue(b)) => write_str(out, &base64(b)),
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, Some(v));
            }
            out.push(']');
        }
        Some(Value::KvlistValue(kv)) => {
            write_object(out, kv.values.iter(), usize::MAX);
        }
    }
}

/// Appends `{"key": value, …}` for at most `max` pairs; returns how many were left out.
pub fn write_object<'a>(
    out: &mut String,
    pairs: impl Iterator<Item = &'a KeyValue>,
    max: usize,
) -> usize {
    out.push('{');
    let mut written = 0;
    let mut left_out = 0;
    for kv in pairs {
        if written == max {
            left_out += 1;
            continue;
        }
        if written > 0 {
            out.push(',');
        }
        write_str(out, &kv.key);
        out.push(':');
        write_json(out, kv.value.as_ref());
        written += 1;
    }
    out.push('}');
    left_out
}

/// The text a body becomes as a message: a string as it is, scalars as written, bytes as
/// UTF-8 when they are (base64 otherwise), arrays and maps as their JSON.
pub fn message(body: Option<&AnyValue>) -> Cow<'_, str> {
    match body.and_then(|v| v.value.as_ref()) {
        None => Cow::Borrowed(""),
        Some(Value::StringValue(s)) => Cow::Borrowed(s),
        Some(Value::BytesValue(b)) => match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(base64(b)),
        },
        Some(_) => {
            let mut out = String::new();
            write_json(&mut out, body);
            Cow::Owned(out)
        }
    }
}

/// The string value of an attribute, if it is a non-empty string.
pub fn as_str(value: Option<&AnyValue>) -> Option<&str> {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Lower-case hex of an id of exactly `len` bytes that is not all zeros (the specification's
/// "invalid" id); `None` otherwise.
pub fn hex_id(bytes: &[u8], len: usize) -> Option<String> {
    if bytes.len() != len || bytes.iter().all(|&b| b == 0) {
        return None;
    }
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(len * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    Some(out)
}

fn write_str(out: &mut String, s: &str) {
    // serde_json escapes exactly as JSON requires; writing into a String cannot fail.
    if let Ok(text) = serde_json::to_string(s) {
        out.push_str(&text);
    }
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
