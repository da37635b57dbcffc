//! The shapes the redaction engine checks in place once an anchor found them:
//! `Authorization` credentials, `user:password@` in URLs, AWS access keys, private key
//! blocks, JWTs and prefixed API tokens; plus e-mail local parts and router `fwd` client IPs
//! (hashed). Each pushes the spans it finds; nothing is allocated unless one is found.

use super::spans::{
    count, find_quote, Span, Spans, REDACTED, R_AUTH, R_EMAILS, R_IPS, R_QUERY, R_SHAPES,
};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// Token prefixes of well-known services and the fewest characters that must follow.
pub(super) const TOKEN_PREFIXES: &[(&str, usize)] = &[
    ("sk_live_", 16),
    ("sk_test_", 16),
    ("rk_live_", 16),
    ("rk_test_", 16),
    ("whsec_", 16),
    ("ghp_", 30),
    ("gho_", 30),
    ("ghu_", 30),
    ("ghs_", 30),
    ("ghr_", 30),
    ("github_pat_", 30),
    ("glpat-", 20),
    ("xoxb-", 10),
    ("xoxp-", 10),
    ("xoxa-", 10),
    ("xoxr-", 10),
    ("xoxs-", 10),
    ("xapp-", 10),
    ("AIza", 30),
    ("npm_", 30),
    ("shpat_", 30),
];

/// Authorization schemes: the credential after one of these is the secret.
const SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "token",
    "digest",
    "negotiate",
    "jwt",
    "apikey",
];

/// What an anchor found by the automaton is.
#[derive(Debug, Clone, Copy)]
pub(super) enum Anchor {
    /// The last letters of a secret key name.
    Name,
    /// `Bearer`.
    Bearer,
    /// `://`: a URL that may hold `user:password@`.
    Url,
    /// `AKIA`/`ASIA`.
    Aws,
    /// `-----BEGIN `.
    PrivateKey,
    /// `eyJ`: a JWT.
    Jwt,
    /// A token prefix (exact case) and its minimum body length.
    Prefix(usize),
}

/// The length of an authorization scheme word and the spaces after it, if `value` starts
/// with one that is followed by a credential.
pub(super) fn scheme(value: &str) -> Option<usize> {
    let word = value.split(' ').next()?;
    if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(word)) {
        return None;
    }
    let spaces = count(value.as_bytes(), word.len(), b' ');
    (spaces > 0 && word.len() + spaces < value.len()).then_some(word.len() + spaces)
}

fn is_token68(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// A stand-alone `Bearer <token>`: redacted when the token looks like one (12 or more token
/// characters with a digit or punctuation), so `Bearer of bad news` and `Bearer
/// Authentication` stay.
pub(super) fn bearer(b: &[u8], s: usize, e: usize, spans: &mut Spans<'_>) {
    if s > 0 && b[s - 1].is_ascii_alphanumeric() {
        return;
    }
    let spaces = count(b, e, b' ');
    if spaces == 0 {
        return;
    }
    let ts = e + spaces;
    let mut te = ts + b[ts..].iter().take_while(|&&c| is_token68(c)).count();
    while te > ts && matches!(b[te - 1], b'.' | b',') {
        te -= 1;
    }
    let token = &b[ts..te];
    let punct = |c: &u8| c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
    if token.len() >= 12 && token.iter().any(punct) {
        spans.push(Span {
            start: ts,
            end: te,
            with: Cow::Borrowed(REDACTED),
            rule: R_AUTH,
        });
    }
}

/// `scheme://user:password@host`: the password.
pub(super) fn url_userinfo(b: &[u8], s: usize, e: usize, spans: &mut Spans<'_>) {
    if s == 0 || !b[s - 1].is_ascii_alphanumeric() {
        return;
    }
    let authority = b[e..]
        .iter()
        .position(|&c| {
            c.is_ascii_whitespace() || matches!(c, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>')
        })
        .unwrap_or(b.len() - e);
    let Some(at) = b[e..e + authority].iter().rposition(|&c| c == b'@') else {
        return;
    };
    let Some(colon) = b[e..e + at].iter().position(|&c| c == b':') else {
        return;
    };
    let (ps, pe) = (e + colon + 1, e + at);
    if ps < pe && !b[ps..pe].iter().all(|&c| c == b'*') && &b[ps..pe] != REDACTED.as_bytes() {
        spans.push(Span {
            start: ps,
            end: pe,
            with: Cow::Borrowed(REDACTED),
            rule: R_QUERY,
        });
    }
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Checks a case-sensitive shape anchor at `s..e`.
pub(super) fn shape(kind: Anchor, b: &[u8], s: usize, e: usize, spans: &mut Spans<'_>) {
    let push = |spans: &mut Spans<'_>, start: usize, end: usize| {
        spans.push(Span {
            start,
            end,
            with: Cow::Borrowed(REDACTED),
            rule: R_SHAPES,
        });
    };
    let boundary_before = s == 0 || !b[s - 1].is_ascii_alphanumeric();
    match kind {
        Anchor::Aws => {
            let end = e + 16;
            if boundary_before
                && end <= b.len()
                && b[e..end]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && b.get(end).map_or(true, |c| !c.is_ascii_alphanumeric())
            {
                push(spans, s, end);
            }
        }
        Anchor::PrivateKey => {
            let Some(close) = memchr::memmem::find(&b[e..], b"-----") else {
                return;
            };
            let label = &b[e..e + close];
            if label.len() > 40 || memchr::memmem::find(label, b"PRIVATE KEY").is_none() {
                return;
            }
            let body = e + close + 5;
            let end = memchr::memmem::find(&b[body..], b"-----END ").map_or(b.len(), |i| body + i);
            if body < end {
                push(spans, body, end);
            }
        }
        Anchor::Jwt => {
            if s > 0 && is_b64url(b[s - 1]) {
                return;
            }
            let run = |from: usize| b[from..].iter().take_while(|&&c| is_b64url(c)).count();
            let header = e + run(e);
            if header - s < 10 || b.get(header) != Some(&b'.') {
                return;
            }
            let payload = header + 1 + run(header + 1);
            if payload - header - 1 < 2 || b.get(payload) != Some(&b'.') {
                return;
            }
            let end = payload + 1 + run(payload + 1);
            push(spans, s, end);
        }
        Anchor::Prefix(min) => {
            if s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_') {
                return;
            }
            let body = b[e..].iter().take_while(|&&c| is_b64url(c)).count();
            if body >= min {
                push(spans, e, e + body);
            }
        }
        Anchor::Name | Anchor::Bearer | Anchor::Url => {}
    }
}

/// E-mail addresses: the local part becomes `[REDACTED]`, the domain stays.
pub(super) fn emails(b: &[u8], spans: &mut Spans<'_>) {
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    for at in memchr::memchr_iter(b'@', b) {
        let mut ls = at;
        while ls > 0 && local(b[ls - 1]) {
            ls -= 1;
        }
        let mut de = at + 1;
        while de < b.len() && domain(b[de]) {
            de += 1;
        }
        while de > at + 1 && matches!(b[de - 1], b'.' | b'-') {
            de -= 1;
        }
        let dom = &b[at + 1..de];
        let Some(dot) = dom.iter().rposition(|&c| c == b'.') else {
            continue;
        };
        let tld = &dom[dot + 1..];
        if ls == at || b[ls] == b'.' || tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) {
            continue;
        }
        spans.push(Span {
            start: ls,
            end: at,
            with: Cow::Borrowed(REDACTED),
            rule: R_EMAILS,
        });
    }
}

/// Router `fwd="ip, ip"`: each address becomes `ip-` and 16 hex digits of
/// SHA-256(salt ‖ address); separators stay.
pub(super) fn fwd(text: &str, salt: &str, spans: &mut Spans<'_>) {
    let b = text.as_bytes();
    let Some(at) = memchr::memmem::find_iter(b, b"fwd=").find(|&at| at == 0 || b[at - 1] == b' ')
    else {
        return;
    };
    {
        let mut vs = at + 4;
        let ve = if b.get(vs) == Some(&b'"') {
            vs += 1;
            find_quote(b, vs, b'"').unwrap_or(b.len())
        } else {
            vs + b[vs..]
                .iter()
                .position(|&c| c == b' ')
                .unwrap_or(b.len() - vs)
        };
        let mut is = vs;
        for part in text[vs..ve].split(',') {
            let lead = part.len() - part.trim_start().len();
            let ip = part.trim();
            let start = is + lead;
            is += part.len() + 1;
            // Only an address is hashed (IPv4 or IPv6 text): not a value already hashed
            // (`ip-…`) or masked by another detector, nor text that merely sits there, so
            // that redacting the output again changes nothing.
            if !is_ip_text(ip) {
                continue;
            }
            let mut h = Sha256::new();
            h.update(salt.as_bytes());
            h.update(ip.as_bytes());
            let digest = h.finalize();
            let mut with = String::with_capacity(19);
            with.push_str("ip-");
            for byte in &digest[..8] {
                with.push(char::from(HEX[usize::from(byte >> 4)]));
                with.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
            spans.push(Span {
                start,
                end: start + ip.len(),
                with: Cow::Owned(with),
                rule: R_IPS,
            });
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `text` can be an IPv4 or IPv6 address: hex digits, dots and colons, with a digit.
fn is_ip_text(text: &str) -> bool {
    text.bytes().any(|c| c.is_ascii_digit())
        && text
            .bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b'.' || c == b':')
}
