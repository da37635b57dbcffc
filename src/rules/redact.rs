//! The redaction engine: finds secret spans in a message and replaces each by `[REDACTED]`,
//! leaving every other byte as it was so that logfmt stays logfmt and JSON stays JSON.
//!
//! Aho-Corasick passes (exact case, few enough patterns for the SIMD prefilter) find
//! anchors: the last letters of secret key names in their usual spellings, `Bearer`, `://`,
//! `AKIA`, `eyJ`, `-----BEGIN `, token prefixes; each anchor is then checked in place (key
//! names in `keys.rs`, the other shapes in `shapes.rs`). Card numbers (`cards.rs`) are found
//! by a skipping scan (only every 13th byte is looked at until a digit, space or dash turns
//! up), e-mail addresses from `@`, router `fwd` values from `fwd=`. Every detector pushes
//! `spans::Span`s; this file merges and applies them. Nothing is allocated until a secret is
//! found.

use super::cards::cards;
use super::config::RedactConfig;
use super::keys::{normalize, Keys, SECRET_NAMES, URL_ONLY_NAMES};
use super::shapes::{bearer, emails, fwd, shape, url_userinfo, Anchor, TOKEN_PREFIXES};
use super::spans::{Span, Spans, BUILTIN, REDACTED};
use super::RuleError;
use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use std::borrow::Cow;

/// Most passes of the detectors over one message (see [`Redactor::redact`]).
const MAX_PASSES: usize = 4;

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
    /// The key-value checks and the secret names.
    keys: Keys,
    card_numbers: bool,
    emails: bool,
    hash_ips: Option<String>,
    /// Anchors for the key-name, authorization, URL and shape detectors.
    /// Automata and what each of their patterns is, by pattern id.
    anchors: Vec<(AhoCorasick, Vec<Anchor>)>,
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
            keys: Keys {
                query_params: cfg.query_params,
                authorization: cfg.authorization,
                secret_keys: cfg.secret_keys,
                names,
            },
            card_numbers: cfg.card_numbers,
            emails: cfg.emails,
            hash_ips,
            anchors,
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

    /// Masks every secret of `text`; `None` when nothing changed. Replacing one secret can
    /// change what another detector sees (a JWT that runs into a private key's END line, a
    /// client IP that was a token), so a changed text is redacted again until nothing changes
    /// (at most [`MAX_PASSES`] passes; in practice one, or two on contrived input): redacting
    /// the output again changes nothing.
    pub(super) fn redact(&self, app_name: &str, procid: &str, text: &str) -> Option<Redacted> {
        let mut out = self.redact_once(app_name, procid, text)?;
        for _ in 1..MAX_PASSES {
            let Some(next) = self.redact_once(app_name, procid, &out.text) else {
                break;
            };
            out.text = next.text;
            for (rule, n) in next.hits {
                match out.hits.iter_mut().find(|(r, _)| *r == rule) {
                    Some((_, count)) => *count += n,
                    None => out.hits.push((rule, n)),
                }
            }
        }
        Some(out)
    }

    /// One pass of every detector over `text`.
    fn redact_once(&self, app_name: &str, procid: &str, text: &str) -> Option<Redacted> {
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
                            key_end = self.keys.key_value(text, s, e, &mut spans);
                        }
                    }
                    Anchor::Bearer => bearer(b, s, e, &mut spans),
                    Anchor::Url => url_userinfo(b, s, e, &mut spans),
                    kind => shape(kind, b, s, e, &mut spans),
                }
            }
        }
        if self.card_numbers {
            cards(b, &mut spans);
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
}
