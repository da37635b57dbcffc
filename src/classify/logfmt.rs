//! PURE: a lenient logfmt scanner shared by the router, metrics and application parsers
//! (PROTOCOL.md §0 item 13): quoted values may hold spaces and `\"`, values may be empty,
//! keys come in any order, and words without `=` are skipped.

use crate::record::{Text, Value};
use std::borrow::Cow;

/// One `key=value` pair, borrowing from the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'t> {
    /// The key: the bytes before `=`.
    pub key: &'t str,
    /// The value without its quotes; escapes still in place when `escaped`.
    pub value: &'t str,
    /// The value held a backslash inside quotes, so [`Pair::text`] must unescape it.
    pub escaped: bool,
}

impl<'t> Pair<'t> {
    /// The value as text, `\"` and `\\` unescaped.
    pub fn text(&self) -> Text<'t> {
        if self.escaped {
            Cow::Owned(unescape(self.value))
        } else {
            Cow::Borrowed(self.value)
        }
    }
}

/// Iterator over the pairs of a logfmt line.
#[derive(Debug, Clone)]
pub struct Pairs<'t> {
    /// The whole text.
    text: &'t str,
    /// Byte offset of the next unread byte.
    pos: usize,
}

/// Scans `text` for `key=value` pairs.
pub fn pairs(text: &str) -> Pairs<'_> {
    Pairs { text, pos: 0 }
}

impl<'t> Iterator for Pairs<'t> {
    type Item = Pair<'t>;

    fn next(&mut self) -> Option<Pair<'t>> {
        let bytes = self.text.as_bytes();
        loop {
            // Skip separators.
            while self.pos < bytes.len() && bytes[self.pos] == b' ' {
                self.pos += 1;
            }
            if self.pos >= bytes.len() {
                return None;
            }
            let start = self.pos;
            // The key runs to `=`, or the word ends at a space and is skipped.
            let mut at = start;
            while at < bytes.len() && bytes[at] != b'=' && bytes[at] != b' ' {
                at += 1;
            }
            if at >= bytes.len() || bytes[at] == b' ' || at == start || bytes[start] == b'"' {
                self.pos = skip_word(bytes, at);
                continue;
            }
            let key = &self.text[start..at];
            let value_start = at + 1;
            if bytes.get(value_start) == Some(&b'"') {
                let (end, escaped) = quoted_end(bytes, value_start + 1);
                let value = &self.text[value_start + 1..end];
                // Past the closing quote (or at the end when it was missing).
                self.pos = (end + 1).min(bytes.len());
                return Some(Pair {
                    key,
                    value,
                    escaped,
                });
            }
            let end = memchr::memchr(b' ', &bytes[value_start..])
                .map_or(bytes.len(), |n| value_start + n);
            self.pos = end;
            return Some(Pair {
                key,
                value: &self.text[value_start..end],
                escaped: false,
            });
        }
    }
}

/// From `at` (inside or at the end of a word), the offset of the next space or the end.
fn skip_word(bytes: &[u8], at: usize) -> usize {
    let mut at = at;
    while at < bytes.len() && bytes[at] != b' ' {
        at += 1;
    }
    at
}

/// From just after an opening quote: the offset of the closing quote (or the end of the text
/// when there is none) and whether a backslash escape was seen.
fn quoted_end(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut at = from;
    let mut escaped = false;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => return (at, escaped),
            b'\\' => {
                escaped = true;
                at += 2;
            }
            _ => at += 1,
        }
    }
    (bytes.len(), escaped)
}

/// Removes backslash escapes: `\"` → `"`, `\\` → `\`; any other escaped byte is kept with its
/// backslash (Heroku only escapes quotes).
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('"' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A number with an optional unit suffix (`14ms`, `21.00MB`, `348836pages`, `0.02767`):
/// the number as an integer or float, and the unit. `None` when the text does not start with
/// a number or the number does not fit.
pub fn number_with_unit(text: &str) -> Option<(Value<'static>, &str)> {
    let bytes = text.as_bytes();
    let mut at = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits_start = at;
    while at < bytes.len() && bytes[at].is_ascii_digit() {
        at += 1;
    }
    let mut float = false;
    if at < bytes.len() && bytes[at] == b'.' {
        let frac = at + 1;
        let mut end = frac;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end > frac {
            float = true;
            at = end;
        }
    }
    if at == digits_start {
        return None;
    }
    // An exponent only counts when digits follow it; otherwise `e` starts the unit.
    if float || at > digits_start {
        if let Some(b'e' | b'E') = bytes.get(at) {
            let mut end = at + 1;
            if let Some(b'-' | b'+') = bytes.get(end) {
                end += 1;
            }
            let exp_start = end;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end > exp_start {
                float = true;
                at = end;
            }
        }
    }
    let (number, unit) = text.split_at(at);
    if !unit.bytes().all(|b| b.is_ascii_alphabetic() || b == b'%') {
        return None;
    }
    let value = if float {
        Value::Float(number.parse::<f64>().ok().filter(|f| f.is_finite())?)
    } else {
        Value::Int(number.parse::<i64>().ok()?)
    };
    Some((value, unit))
}

/// A whole number with an optional `ms` suffix, as router `connect=`/`service=` values.
pub fn millis(text: &str) -> Option<i32> {
    text.strip_suffix("ms").unwrap_or(text).parse().ok()
}

#[cfg(test)]
mod tests;
