//! Secret key names: the builtin names, how a key is normalized (`X-Auth-Token`, `apiKey`),
//! and the check made in place around a name anchor for logfmt, JSON (also escaped inside a
//! string), Ruby hashes, `key: value` and URL query parameters: is this a secret key with a
//! value, and where does the value end.

use super::shapes::scheme;
use super::spans::{
    count, find_quote, Span, Spans, REDACTED, REDACTED_ESCAPED, REDACTED_QUOTED, R_AUTH, R_KEYS,
    R_QUERY,
};
use std::borrow::Cow;

/// Key names whose values are secrets (normalized: lower case, `_` for `-`, `.` and camelCase
/// boundaries). A key matches when it is one of these or ends with `_` and one of these.
pub const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "password_confirmation",
    "secret",
    "secret_key",
    "secret_access_key",
    "token",
    "api_key",
    "apikey",
    "access_token",
    "refresh_token",
    "id_token",
    "auth",
    "auth_token",
    "authorization",
    "signature",
    "sig",
    "client_secret",
    "private_key",
    "credentials",
    "session_token",
];

/// Names that are secrets only as URL query parameters (`?key=…` is Google's API key).
/// `code` (an OAuth authorization code) is not: it is single-use, usually spent by the time
/// the line is read, and `code=` means many harmless things.
pub(super) const URL_ONLY_NAMES: &[&str] = &["key", "jwt", "credential"];

/// Which key-value checks are on, and the secret names (normalized), compiled once.
#[derive(Debug)]
pub(super) struct Keys {
    /// Secret-named URL query parameters.
    pub(super) query_params: bool,
    /// `Authorization` keys.
    pub(super) authorization: bool,
    /// Every other secret-named key.
    pub(super) secret_keys: bool,
    /// Normalized secret names: the builtins and `secret_names`.
    pub(super) names: Vec<String>,
}

impl Keys {
    /// Checks the key around a name anchor at `s..e`; on a secret key with a value, pushes the
    /// value's span. Returns where the key ends, so later anchors inside it are skipped.
    pub(super) fn key_value<'r>(
        &'r self,
        text: &str,
        s: usize,
        e: usize,
        spans: &mut Spans<'r>,
    ) -> usize {
        let b = text.as_bytes();
        let mut ks = s;
        while ks > 0 && is_key_byte(b[ks - 1]) {
            ks -= 1;
        }
        let mut ke = e;
        while ke < b.len() && is_key_byte(b[ke]) {
            ke += 1;
        }
        let before = |n: usize| ks.checked_sub(n).map(|i| b[i]);
        let url = matches!(before(1), Some(b'?' | b'&' | b';'));
        if (url && !self.query_params) || (!url && !self.secret_keys && !self.authorization) {
            return ke;
        }
        let mut quote = match (before(2), before(1)) {
            (Some(b'\\'), Some(b'"')) => Quote::Escaped,
            (_, Some(b'"')) => Quote::Double,
            (_, Some(b'\'')) => Quote::Single,
            _ => Quote::None,
        };
        // A quote before the key that does not close after it opens something else
        // (`msg="password=…"`).
        if !b[ke..].starts_with(quote.text().as_bytes()) {
            quote = Quote::None;
        }
        let mut p = ke + quote.text().len();
        let spaces = count(b, p, b' ');
        let q = p + spaces;
        let sep = if b[q..].starts_with(b"=>") {
            p = q + 2;
            Sep::Rocket
        } else if b.get(q) == Some(&b':') && (quote != Quote::None || spaces == 0) {
            p = q + 1;
            if quote == Quote::None && !matches!(b.get(p), Some(b' ' | b'"' | b'\'' | b'\t')) {
                return ke;
            }
            Sep::Colon
        } else if b.get(q) == Some(&b'=') && spaces == 0 {
            p = q + 1;
            Sep::Equals
        } else {
            return ke;
        };
        if sep != Sep::Equals {
            p += count(b, p, b' ');
        }

        let mut buf = [0u8; NORMALIZED_MAX];
        let Some(key) = normalize_into(&text[ks..ke], &mut buf) else {
            return ke;
        };
        let is = |name: &str| {
            key == name
                || (key.len() > name.len()
                    && key.ends_with(name)
                    && key.as_bytes()[key.len() - name.len() - 1] == b'_')
        };
        let is_auth = is("authorization");
        let rule = if url {
            if !(self.names.iter().any(|n| is(n)) || URL_ONLY_NAMES.iter().any(|n| is(n))) {
                return ke;
            }
            R_QUERY
        } else if is_auth && self.authorization {
            R_AUTH
        } else if self.secret_keys && self.names.iter().any(|n| is(n)) {
            R_KEYS
        } else {
            return ke;
        };

        // The value.
        let (vs, ve, literal) = match (quote, b.get(p)) {
            (Quote::Escaped, _) if b[p..].starts_with(b"\\\"") => {
                let vs = p + 2;
                let ve = find_escaped_quote(b, vs).unwrap_or(b.len());
                (vs, ve, false)
            }
            (_, Some(b'"')) if quote != Quote::Escaped => {
                let vs = p + 1;
                (vs, find_quote(b, vs, b'"').unwrap_or(b.len()), false)
            }
            (_, Some(b'\'')) if quote != Quote::Escaped => {
                let vs = p + 1;
                (vs, find_quote(b, vs, b'\'').unwrap_or(b.len()), false)
            }
            (_, Some(_)) => {
                let ve = p + b[p..]
                    .iter()
                    .position(|&c| ends_value(c, url))
                    .unwrap_or(b.len() - p);
                (p, ve, true)
            }
            (_, None) => return ke,
        };
        if vs >= ve {
            return ke;
        }
        let value = &text[vs..ve];
        if already_masked(value, &text[vs..]) {
            return ke;
        }
        // `Authorization: Bearer <credential>`: keep the scheme.
        if is_auth {
            let scope = if literal { &text[vs..] } else { value };
            if let Some(scheme_len) = scheme(scope) {
                let cs = vs + scheme_len;
                let ce = if literal {
                    cs + b[cs..]
                        .iter()
                        .position(|&c| ends_value(c, url))
                        .unwrap_or(b.len() - cs)
                } else {
                    ve
                };
                // A credential already masked (by a logger, or by an earlier redaction) stays.
                if cs < ce && !already_masked(&text[cs..ce], &text[cs..]) {
                    spans.push(Span {
                        start: cs,
                        end: ce,
                        with: Cow::Borrowed(REDACTED),
                        rule,
                    });
                }
                return ke;
            }
        }
        let with = if literal && quote != Quote::None {
            // A JSON or Ruby literal under a quoted key: null stays, nested structures are
            // left to their own keys, numbers and booleans become a string.
            if matches!(value, "null" | "nil") || matches!(b[vs], b'{' | b'[') {
                return ke;
            }
            if quote == Quote::Escaped {
                REDACTED_ESCAPED
            } else {
                REDACTED_QUOTED
            }
        } else {
            REDACTED
        };
        spans.push(Span {
            start: vs,
            end: ve,
            with: Cow::Borrowed(with),
            rule,
        });
        ke
    }
}

/// How a key is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
    /// `\"key\"`: JSON inside a JSON (or logfmt) string.
    Escaped,
}

impl Quote {
    fn text(self) -> &'static str {
        match self {
            Quote::None => "",
            Quote::Double => "\"",
            Quote::Single => "'",
            Quote::Escaped => "\\\"",
        }
    }
}

/// Between key and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Equals,
    Colon,
    Rocket,
}

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// Where an unquoted value ends.
fn ends_value(c: u8, url: bool) -> bool {
    if url {
        c.is_ascii_whitespace() || matches!(c, b'&' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\')
    } else {
        c.is_ascii_whitespace()
            || matches!(c, b'"' | b'\'' | b',' | b';' | b'}' | b']' | b')' | b'\\')
    }
}

/// The next `\"` that closes an escaped string (one not itself escaped as `\\\"`).
fn find_escaped_quote(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < b.len() {
        if b[i] == b'\\' {
            if b[i + 1] == b'"' {
                return Some(i);
            }
            // `\\` followed by `\"` is an escaped backslash then an escaped quote inside.
            i += if b[i + 1] == b'\\' { 3 } else { 2 };
            continue;
        }
        i += 1;
    }
    None
}

/// Values a logger already masked: `value`, or the text it starts (an unquoted value ends
/// at `]`, so `[FILTERED]` is read from `rest`).
fn already_masked(value: &str, rest: &str) -> bool {
    const MASKS: [&str; 6] = [
        "[FILTERED]",
        "[REDACTED]",
        "[MASKED]",
        "<redacted>",
        "FILTERED",
        "REDACTED",
    ];
    MASKS
        .iter()
        .any(|m| value == *m || (rest.starts_with(m) && m.starts_with('[')))
        || value.bytes().all(|c| c == b'*')
}

/// The longest key that can be a name.
const KEY_MAX: usize = 96;
/// Room for a normalized key: every other byte may gain a `_`.
const NORMALIZED_MAX: usize = KEY_MAX * 3 / 2 + 1;

/// A key normalized for comparison: lower case, `-` and `.` as `_`, `_` before an upper-case
/// letter that follows a lower-case letter or a digit (`apiKey` → `api_key`). `None` for keys
/// too long to be a name.
pub(super) fn normalize(key: &str) -> Option<String> {
    let mut buf = [0u8; NORMALIZED_MAX];
    normalize_into(key, &mut buf).map(str::to_owned)
}

/// [`normalize`] into `buf`, without allocating (it runs for every anchored key).
fn normalize_into<'b>(key: &str, buf: &'b mut [u8; NORMALIZED_MAX]) -> Option<&'b str> {
    if key.len() > KEY_MAX {
        return None;
    }
    let mut n = 0;
    let mut prev = 0u8;
    for c in key.bytes() {
        if c.is_ascii_uppercase() && (prev.is_ascii_lowercase() || prev.is_ascii_digit()) {
            buf[n] = b'_';
            n += 1;
        }
        buf[n] = match c {
            b'-' | b'.' => b'_',
            c => c.to_ascii_lowercase(),
        };
        n += 1;
        prev = c;
    }
    // Only ASCII bytes were changed or added, so the result is as valid UTF-8 as `key`.
    std::str::from_utf8(&buf[..n]).ok()
}
