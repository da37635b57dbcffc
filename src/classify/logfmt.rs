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

/// Bytes that end a key: space, `=` and `"`.
const KEY_END: [bool; 256] = {
    let mut table = [false; 256];
    table[b' ' as usize] = true;
    table[b'=' as usize] = true;
    table[b'"' as usize] = true;
    table
};

/// Values up to this long are scanned byte by byte; longer ones with `memchr`.
const SHORT_VALUE: usize = 16;

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
            let start = self.pos;
            let key_len = bytes
                .get(start..)?
                .iter()
                .position(|&b| KEY_END[usize::from(b)])
                .unwrap_or(bytes.len() - start);
            let at = start + key_len;
            match bytes.get(at) {
                None => {
                    self.pos = bytes.len();
                    return None;
                }
                Some(b'=') if key_len > 0 => {
                    let key = &self.text[start..at];
                    return Some(self.value(key, at + 1));
                }
                Some(b' ') => self.pos = at + 1,
                // An empty key or a quote in the key: not a pair, skip the word.
                Some(_) => {
                    self.pos =
                        memchr::memchr(b' ', &bytes[at..]).map_or(bytes.len(), |n| at + n + 1);
                }
            }
        }
    }
}

impl<'t> Pairs<'t> {
    /// Reads the value that starts at `from` (just after `=`).
    fn value(&mut self, key: &'t str, from: usize) -> Pair<'t> {
        let bytes = self.text.as_bytes();
        if bytes.get(from) == Some(&b'"') {
            let from = from + 1;
            let mut search = from;
            let end = loop {
                let Some(n) = memchr::memchr(b'"', &bytes[search..]) else {
                    break bytes.len();
                };
                let at = search + n;
                let backslashes = bytes[from..at]
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'\\')
                    .count();
                if backslashes % 2 == 0 {
                    break at;
                }
                search = at + 1; // an escaped quote inside the value
            };
            self.pos = (end + 1).min(bytes.len());
            let value = &self.text[from..end];
            return Pair {
                key,
                value,
                escaped: memchr::memchr(b'\\', value.as_bytes()).is_some(),
            };
        }
        let rest = &bytes[from..];
        let short = &rest[..rest.len().min(SHORT_VALUE)];
        let len = match short.iter().position(|&b| b == b' ') {
            Some(n) => n,
            None if rest.len() <= SHORT_VALUE => rest.len(),
            None => {
                memchr::memchr(b' ', &rest[SHORT_VALUE..]).map_or(rest.len(), |n| SHORT_VALUE + n)
            }
        };
        let end = from + len;
        self.pos = (end + 1).min(bytes.len());
        Pair {
            key,
            value: &self.text[from..end],
            escaped: false,
        }
    }
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
        Value::Float(match simple_decimal(number) {
            Some(f) => f,
            None => number.parse::<f64>().ok().filter(|f| f.is_finite())?,
        })
    } else {
        Value::Int(number.parse::<i64>().ok()?)
    };
    Some((value, unit))
}

/// `[-+]digits.digits` with at most 15 significant digits, computed exactly: both the digits
/// as an integer and the power of ten are exact in an `f64`, so one division rounds correctly
/// (the fast path of Clinger's algorithm). `None` for anything else (exponents, longer numbers).
fn simple_decimal(text: &str) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = digits.split_once('.')?;
    if int.len() + frac.len() > 15 || frac.is_empty() {
        return None;
    }
    let mut mantissa: u64 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        mantissa = mantissa * 10 + u64::from(d);
    }
    #[allow(clippy::cast_precision_loss)] // at most 15 digits: exact
    let value = mantissa as f64 / POW10[frac.len()];
    Some(if negative { -value } else { value })
}

/// A whole number with an optional `ms` suffix, as router `connect=`/`service=` values.
pub fn millis(text: &str) -> Option<i32> {
    text.strip_suffix("ms").unwrap_or(text).parse().ok()
}

#[cfg(test)]
mod tests;
