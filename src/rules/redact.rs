//! The redaction engine: finds secret spans in a message and replaces each by `[REDACTED]`,
//! leaving every other byte as it was so that logfmt stays logfmt and JSON stays JSON.
//!
//! Aho-Corasick passes (exact case, few enough patterns for the SIMD prefilter) find
//! anchors: the last letters of secret key names in their usual spellings, `Bearer`, `://`,
//! `AKIA`, `eyJ`, `-----BEGIN `, token prefixes; each anchor is then checked in place (the
//! shapes are in `shapes.rs`). Card numbers (`cards.rs`) are found by a skipping scan (only
//! every 13th byte is looked at until a digit, space or dash turns up), e-mail addresses from
//! `@`, router `fwd` values from `fwd=`. Nothing is allocated until a secret is found.

use super::config::RedactConfig;
use super::shapes::{bearer, emails, fwd, scheme, shape, url_userinfo};
use super::RuleError;
use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use std::borrow::Cow;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";
/// What replaces a JSON (or Ruby) number or boolean under a secret key: a string, so the
/// document stays valid.
const REDACTED_QUOTED: &str = "\"[REDACTED]\"";
/// The same inside a JSON document that is itself escaped inside a string.
const REDACTED_ESCAPED: &str = "\\\"[REDACTED]\\\"";

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
const BUILTIN: [&str; 7] = [
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
const R_KEYS: u16 = 2;
pub(super) const R_CARDS: u16 = 3;
pub(super) const R_SHAPES: u16 = 4;
pub(super) const R_EMAILS: u16 = 5;
pub(super) const R_IPS: u16 = 6;

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
const URL_ONLY_NAMES: &[&str] = &["key", "jwt", "credential"];

/// Token prefixes of well-known services and the fewest characters that must follow.
const TOKEN_PREFIXES: &[(&str, usize)] = &[
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
pub(super) const SCHEMES: &[&str] = &[
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

/// A custom `[[rules.redact.patterns]]` rule.
#[derive(Debug)]
struct Pattern {
    re: Regex,
    /// Index of the `secret` group, if the regex has one.
    secret: Option<usize>,
    replacement: String,
}

/// The compiled redaction settings.
#[derive(Debug)]
pub(super) struct Redactor {
    query_params: bool,
    authorization: bool,
    secret_keys: bool,
    card_numbers: bool,
    emails: bool,
    hash_ips: Option<String>,
    /// Anchors for the key-name, authorization, URL and shape detectors.
    /// Automata and what each of their patterns is, by pattern id.
    anchors: Vec<(AhoCorasick, Vec<Anchor>)>,
    /// Normalized secret names.
    names: Vec<String>,
    patterns: Vec<Pattern>,
    /// Rule names by rule number: the builtins, then the patterns.
    rule_names: Vec<String>,
}

/// A changed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The message with every secret replaced.
    pub text: String,
    /// How many values each rule replaced, in the order the rules first matched. Builtin
    /// rules are named as their `[rules.redact]` flag (`secret_keys`, `card_numbers`, …;
    /// `hash_client_ips` for hashed IPs), custom patterns by their `name`.
    pub hits: Vec<(String, u32)>,
}

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

impl Redactor {
    pub(super) fn compile(cfg: &RedactConfig) -> Result<Redactor, RuleError> {
        let err = |rule: String, reason: String| RuleError { rule, reason };
        let hash_ips = if cfg.hash_client_ips {
            match cfg.ip_hash_salt.as_deref() {
                Some(salt) if !salt.is_empty() => Some(salt.to_owned()),
                _ => {
                    return Err(err(
                        "rules.redact".into(),
                        "hash_client_ips needs a non-empty ip_hash_salt".into(),
                    ))
                }
            }
        } else {
            None
        };
        let mut names: Vec<String> = SECRET_NAMES.iter().map(|n| (*n).to_owned()).collect();
        for (i, extra) in cfg.secret_names.iter().enumerate() {
            let Some(n) = normalize(extra).filter(|n| {
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }) else {
                return Err(err(
                    format!("rules.redact.secret_names[{i}]"),
                    format!("{extra:?} is not a key name (letters, digits, _ and -)"),
                ));
            };
            if !names.contains(&n) {
                names.push(n);
            }
        }

        let mut rule_names: Vec<String> = BUILTIN.iter().map(|n| (*n).to_owned()).collect();
        let mut patterns = Vec::with_capacity(cfg.patterns.len());
        for (i, p) in cfg.patterns.iter().enumerate() {
            let label = if p.name.is_empty() {
                format!("rules.redact.patterns[{i}]")
            } else {
                format!("rules.redact.patterns[{i}] {:?}", p.name)
            };
            if p.name.trim().is_empty() {
                return Err(err(label, "name is empty".into()));
            }
            if BUILTIN.contains(&p.name.as_str()) {
                return Err(err(label, "name is taken by a builtin redaction".into()));
            }
            if rule_names.contains(&p.name) {
                return Err(err(label, "name is used by another pattern".into()));
            }
            let re = Regex::new(&p.regex).map_err(|e| err(label.clone(), format!("regex: {e}")))?;
            if re.is_match("") {
                return Err(err(label, "regex: matches the empty string".into()));
            }
            let secret = re.capture_names().position(|n| n == Some("secret"));
            rule_names.push(p.name.clone());
            patterns.push(Pattern {
                re,
                secret,
                replacement: p.replacement.clone().unwrap_or_else(|| REDACTED.into()),
            });
        }

        // Two automata of a few dozen patterns each search faster than one with both sets.
        let mut sets: [(Vec<String>, Vec<Anchor>); 2] = Default::default();
        let mut add = |text: String, kind: Anchor| {
            let (texts, kinds) = &mut sets
                [usize::from(!matches!(kind, Anchor::Name | Anchor::Bearer | Anchor::Url))];
            if !texts.contains(&text) {
                texts.push(text);
                kinds.push(kind);
            }
        };
        if cfg.secret_keys || cfg.query_params || cfg.authorization {
            let url_names = URL_ONLY_NAMES.iter().map(|n| (*n).to_owned());
            let all: Vec<String> = if cfg.query_params {
                names.iter().cloned().chain(url_names).collect()
            } else {
                names.clone()
            };
            for name in all {
                // The last three letters of the name's last word, as they can end a key in
                // any of the spellings `normalize` accepts: `token`, `TOKEN`, `accessToken`
                // all end in `ken` or `KEN`; a short word may also be capitalized (`apiKey`).
                let word = name.rsplit('_').next().unwrap_or(&name);
                let stem = &word[word.len().saturating_sub(3)..];
                add(stem.to_owned(), Anchor::Name);
                add(stem.to_ascii_uppercase(), Anchor::Name);
                if stem.len() == word.len() {
                    let mut cap = stem.to_owned();
                    cap[..1].make_ascii_uppercase();
                    add(cap, Anchor::Name);
                }
            }
        }
        if cfg.authorization {
            for spelling in ["Bearer", "bearer", "BEARER"] {
                add(spelling.into(), Anchor::Bearer);
            }
        }
        if cfg.query_params {
            add("://".into(), Anchor::Url);
        }
        if cfg.key_shapes {
            add("AKIA".into(), Anchor::Aws);
            add("ASIA".into(), Anchor::Aws);
            add("-----BEGIN ".into(), Anchor::PrivateKey);
            add("eyJ".into(), Anchor::Jwt);
            for (prefix, min) in TOKEN_PREFIXES {
                add((*prefix).into(), Anchor::Prefix(*min));
            }
        }
        let mut anchors = Vec::new();
        for (texts, kinds) in sets {
            if !texts.is_empty() {
                let ac = AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&texts)
                    .map_err(|e| err("rules.redact".into(), e.to_string()))?;
                anchors.push((ac, kinds));
            }
        }
        Ok(Redactor {
            query_params: cfg.query_params,
            authorization: cfg.authorization,
            secret_keys: cfg.secret_keys,
            card_numbers: cfg.card_numbers,
            emails: cfg.emails,
            hash_ips,
            anchors,
            names,
            patterns,
            rule_names,
        })
    }

    /// Whether any detector is on.
    pub(super) fn active(&self) -> bool {
        !self.anchors.is_empty()
            || self.card_numbers
            || self.emails
            || self.hash_ips.is_some()
            || !self.patterns.is_empty()
    }

    pub(super) fn redact(&self, app_name: &str, procid: &str, text: &str) -> Option<Redacted> {
        let mut spans: Spans<'_> = Vec::new();
        let b = text.as_bytes();
        for (ac, kinds) in &self.anchors {
            let mut key_end = 0;
            // Leftmost-first, not overlapping: an anchor can only hide another that starts
            // inside it, and those are in the same key (checked whole) or fail their own
            // boundary check.
            for m in ac.find_iter(text) {
                let (s, e) = (m.start(), m.end());
                match kinds[m.pattern().as_usize()] {
                    Anchor::Name => {
                        if s >= key_end {
                            key_end = self.key_value(text, s, e, &mut spans);
                        }
                    }
                    Anchor::Bearer => bearer(b, s, e, &mut spans),
                    Anchor::Url => url_userinfo(b, s, e, &mut spans),
                    kind => shape(kind, b, s, e, &mut spans),
                }
            }
        }
        if self.card_numbers {
            super::cards::cards(b, &mut spans);
        }
        if self.emails {
            emails(b, &mut spans);
        }
        if let Some(salt) = &self.hash_ips {
            if app_name == "heroku" && procid == "router" {
                fwd(text, salt, &mut spans);
            }
        }
        for (i, p) in self.patterns.iter().enumerate() {
            let rule = u16::try_from(BUILTIN.len() + i).unwrap_or(u16::MAX);
            let with = Cow::Borrowed(p.replacement.as_str());
            match p.secret {
                Some(group) => {
                    for caps in p.re.captures_iter(text) {
                        if let Some(g) = caps.get(group).filter(|g| !g.is_empty()) {
                            spans.push(Span {
                                start: g.start(),
                                end: g.end(),
                                with: with.clone(),
                                rule,
                            });
                        }
                    }
                }
                None => {
                    for m in p.re.find_iter(text).filter(|m| !m.is_empty()) {
                        spans.push(Span {
                            start: m.start(),
                            end: m.end(),
                            with: with.clone(),
                            rule,
                        });
                    }
                }
            }
        }
        if spans.is_empty() {
            return None;
        }
        self.apply(text, spans)
    }

    /// Replaces the spans, overlapping ones merged into the earliest; `None` if nothing changed.
    fn apply(&self, text: &str, mut spans: Spans<'_>) -> Option<Redacted> {
        spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut merged: Vec<Span<'_>> = Vec::with_capacity(spans.len());
        for span in spans {
            match merged.last_mut() {
                Some(last) if span.start < last.end => last.end = last.end.max(span.end),
                _ => merged.push(span),
            }
        }
        let mut out = String::with_capacity(text.len() + 16 * merged.len());
        let mut hits: Vec<(String, u32)> = Vec::new();
        let mut at = 0;
        for span in &merged {
            out.push_str(text.get(at..span.start)?);
            out.push_str(&span.with);
            at = span.end;
            let name = self.rule_names.get(usize::from(span.rule))?;
            match hits.iter_mut().find(|(n, _)| n == name) {
                Some((_, count)) => *count += 1,
                None => hits.push((name.clone(), 1)),
            }
        }
        out.push_str(text.get(at..)?);
        (out != text).then_some(Redacted { text: out, hits })
    }

    /// Checks the key around a name anchor at `s..e`; on a secret key with a value, pushes the
    /// value's span. Returns where the key ends, so later anchors inside it are skipped.
    fn key_value<'r>(&'r self, text: &str, s: usize, e: usize, spans: &mut Spans<'r>) -> usize {
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
                if cs < ce {
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
fn normalize(key: &str) -> Option<String> {
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
