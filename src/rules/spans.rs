//! The vocabulary every redaction detector shares, below all of them: the builtin rules'
//! names and numbers, the replacement texts, one found secret (`Span`), and the byte scanners
//! the detectors use. Detectors (`keys`, `shapes`, `cards`) push spans; `redact` merges and
//! applies them.

use std::borrow::Cow;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";
/// What replaces a JSON (or Ruby) number or boolean under a secret key: a string, so the
/// document stays valid.
pub(super) const REDACTED_QUOTED: &str = "\"[REDACTED]\"";
/// The same inside a JSON document that is itself escaped inside a string.
pub(super) const REDACTED_ESCAPED: &str = "\\\"[REDACTED]\\\"";

/// Builtin detector names, as they appear in [`Redacted::hits`] and in the config.
pub const QUERY_PARAMS: &str = "query_params";
/// See [`QUERY_PARAMS`].
pub const AUTHORIZATION: &str = "authorization";
/// See [`QUERY_PARAMS`].
pub const SECRET_KEYS: &str = "secret_keys";
/// See [`QUERY_PARAMS`].
pub const CARD_NUMBERS: &str = "card_numbers";
/// See [`QUERY_PARAMS`].
pub const KEY_SHAPES: &str = "key_shapes";
/// See [`QUERY_PARAMS`].
pub const EMAILS: &str = "emails";
/// See [`QUERY_PARAMS`].
pub const CLIENT_IPS: &str = "hash_client_ips";

/// The builtin detectors, indexed by the `Rule` numbers below.
pub(super) const BUILTIN: [&str; 7] = [
    QUERY_PARAMS,
    AUTHORIZATION,
    SECRET_KEYS,
    CARD_NUMBERS,
    KEY_SHAPES,
    EMAILS,
    CLIENT_IPS,
];
pub(super) const R_QUERY: u16 = 0;
pub(super) const R_AUTH: u16 = 1;
pub(super) const R_KEYS: u16 = 2;
pub(super) const R_CARDS: u16 = 3;
pub(super) const R_SHAPES: u16 = 4;
pub(super) const R_EMAILS: u16 = 5;
pub(super) const R_IPS: u16 = 6;

/// One replacement.
#[derive(Debug)]
pub(super) struct Span<'r> {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) with: Cow<'r, str>,
    pub(super) rule: u16,
}

/// The spans found so far; allocates only on the first.
pub(super) type Spans<'r> = Vec<Span<'r>>;

pub(super) fn count(b: &[u8], from: usize, byte: u8) -> usize {
    b.get(from..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| c == byte).count())
}

/// The closing `quote` from `from`, skipping backslash escapes.
pub(super) fn find_quote(b: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}
