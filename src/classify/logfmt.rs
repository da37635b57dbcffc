//! PURE: a lenient logfmt scanner shared by the router, metrics and application parsers
//! (docs/wire.md, "logfmt"): quoted values may hold spaces and `\"`, values may be empty,
//! keys come in any order, and words without `=` are skipped.

use crate::record::{Text, Value};
use crate::scan::{find_by, find_byte, lanes_equal};
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
    #[inline]
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

/// The first space, `=` or `"` at or after `from` (what ends a key), or `bytes.len()`.
#[inline]
fn find_key_end(bytes: &[u8], from: usize) -> usize {
    find_by(bytes, from, |w| {
        lanes_equal(w, b' ') | lanes_equal(w, b'=') | lanes_equal(w, b'"')
    })
}

/// The first space at or after `from`, or `bytes.len()`.
#[inline]
fn find_space(bytes: &[u8], from: usize) -> usize {
    find_byte(bytes, from, b' ')
}

/// The first `"` or backslash at or after `from`, or `bytes.len()`.
#[inline]
fn find_quote_or_backslash(bytes: &[u8], from: usize) -> usize {
    find_by(bytes, from, |w| {
        lanes_equal(w, b'"') | lanes_equal(w, b'\\')
    })
}

impl<'t> Iterator for Pairs<'t> {
    type Item = Pair<'t>;

    #[inline(always)]
    fn next(&mut self) -> Option<Pair<'t>> {
        let bytes = self.text.as_bytes();
        loop {
            let start = self.pos;
            if start >= bytes.len() {
                self.pos = bytes.len();
                return None;
            }
            let at = find_key_end(bytes, start);
            match bytes.get(at) {
                None => {
                    self.pos = bytes.len();
                    return None;
                }
                Some(b'=') if at > start => {
                    let key = &self.text[start..at];
                    return Some(self.value(key, at + 1));
                }
                Some(b' ') => self.pos = at + 1,
                // An empty key or a quote in the key: not a pair, skip the word.
                Some(_) => self.pos = (find_space(bytes, at) + 1).min(bytes.len()),
            }
        }
    }
}

impl<'t> Pairs<'t> {
    /// Reads the value that starts at `from` (just after `=`).
    #[inline(always)]
    fn value(&mut self, key: &'t str, from: usize) -> Pair<'t> {
        let bytes = self.text.as_bytes();
        if bytes.get(from) == Some(&b'"') {
            let from = from + 1;
            let mut escaped = false;
            let mut search = from;
            // A backslash escapes the byte after it: a quote preceded by an odd run of
            // backslashes is inside the value.
            let end = loop {
                let at = find_quote_or_backslash(bytes, search);
                match bytes.get(at) {
                    Some(b'\\') => {
                        escaped = true;
                        search = at + 2;
                        if search >= bytes.len() {
                            break bytes.len();
                        }
                    }
                    _ => break at,
                }
            };
            self.pos = (end + 1).min(bytes.len());
            return Pair {
                key,
                value: &self.text[from..end],
                escaped,
            };
        }
        let end = find_space(bytes, from);
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
    // The digits read so far as an integer (exact while there are at most 15 of them).
    let mut mantissa: u64 = 0;
    while at < bytes.len() && bytes[at].is_ascii_digit() {
        mantissa = mantissa
            .wrapping_mul(10)
            .wrapping_add(u64::from(bytes[at] - b'0'));
        at += 1;
    }
    let int_digits = at - digits_start;
    let mut float = false;
    let mut frac_digits = 0;
    if at < bytes.len() && bytes[at] == b'.' {
        let frac = at + 1;
        let mut end = frac;
        let mut with_frac = mantissa;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            with_frac = with_frac
                .wrapping_mul(10)
                .wrapping_add(u64::from(bytes[end] - b'0'));
            end += 1;
        }
        if end > frac {
            float = true;
            at = end;
            mantissa = with_frac;
            frac_digits = end - frac;
        }
    }
    if at == digits_start {
        return None;
    }
    let mut exponent = false;
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
                exponent = true;
                at = end;
            }
        }
    }
    let (number, unit) = text.split_at(at);
    if !unit.bytes().all(|b| b.is_ascii_alphabetic() || b == b'%') {
        return None;
    }
    let value = if float {
        // `[-+]digits.digits` of at most 15 digits: what `simple_decimal(number)` computes,
        // from the digits already read.
        let simple = (!exponent && frac_digits > 0 && int_digits + frac_digits <= 15).then(|| {
            #[allow(clippy::cast_precision_loss)] // at most 15 digits: exact
            let value = mantissa as f64 / POW10[frac_digits];
            if bytes.first() == Some(&b'-') {
                -value
            } else {
                value
            }
        });
        Value::Float(match simple {
            Some(f) => f,
            None => number.parse::<f64>().ok().filter(|f| f.is_finite())?,
        })
    } else {
        Value::Int(parse_int::<i64>(number)?)
    };
    Some((value, unit))
}

/// Exact powers of ten for [`simple_decimal`].
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `[-+]digits.digits` with at most 15 significant digits, computed exactly: both the digits
/// as an integer and the power of ten are exact in an `f64`, so one division rounds correctly
/// (the fast path of Clinger's algorithm). `None` for anything else (exponents, longer numbers).
#[cfg(test)]
fn simple_decimal(text: &str) -> Option<f64> {
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
#[inline]
pub fn millis(text: &str) -> Option<i32> {
    parse_int(text.strip_suffix("ms").unwrap_or(text))
}

/// `text.parse().ok()`, with a shortcut for plain digit strings (nearly every number a line
/// carries): the same result, without the generic parser's sign and radix handling.
#[inline]
pub fn parse_int<T: std::str::FromStr + TryFrom<u64>>(text: &str) -> Option<T> {
    let b = text.as_bytes();
    if !b.is_empty() && b.len() <= 18 && b.iter().all(u8::is_ascii_digit) {
        let n = b
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d.wrapping_sub(b'0')));
        return T::try_from(n).ok();
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests;
