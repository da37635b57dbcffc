//! Drop and sampling conditions: a [`MatchRule`] compiled into checks on a [`LogRecord`].

use super::config::MatchRule;
use crate::record::{Kind, Level, LogRecord};
use regex::Regex;

/// One compiled match rule: every `Some` condition must hold.
#[derive(Debug)]
pub(super) struct Matcher {
    /// Bit `1 << kind_bit(k)` set for each kind that matches.
    kinds: Option<u8>,
    /// The dyno condition.
    dyno: Option<DynoMatch>,
    /// The least severe level matched is Debug; this is the most severe one matched.
    level: Option<Level>,
    /// Router path prefix.
    path: Option<String>,
    /// Inclusive status range.
    status: Option<(i16, i16)>,
    /// Searched in the message.
    message: Option<Regex>,
}

/// `web.1` or `web`.
#[derive(Debug)]
enum DynoMatch {
    /// The whole dyno name.
    Exact(String),
    /// A process type: the name itself or the name followed by `.` and a number.
    Process(String),
}

fn kind_bit(kind: Kind) -> u8 {
    match kind {
        Kind::Router => 1,
        Kind::Api => 2,
        Kind::App => 4,
        Kind::System => 8,
        Kind::RuntimeMetric => 16,
        Kind::Addon => 32,
    }
}

impl Matcher {
    /// Validates and compiles the conditions; the error is the reason, without the rule label.
    pub(super) fn compile(rule: &MatchRule) -> Result<Matcher, String> {
        let kinds = match &rule.kind {
            None => None,
            Some(names) if names.is_empty() => return Err("kind: the list is empty".into()),
            Some(names) => {
                let mut bits = 0;
                for name in names {
                    let kind = Kind::parse(name).ok_or_else(|| {
                        format!(
                            "kind: {name:?} is not one of router, app, api, system, \
                             runtime_metric, addon"
                        )
                    })?;
                    bits |= kind_bit(kind);
                }
                Some(bits)
            }
        };
        let dyno = match rule.dyno.as_deref() {
            None => None,
            Some("") => return Err("dyno: empty".into()),
            Some(d) if d.contains('.') => Some(DynoMatch::Exact(d.to_owned())),
            Some(d) => Some(DynoMatch::Process(d.to_owned())),
        };
        let level = match rule.level.as_deref() {
            None => None,
            Some(name) => Some(parse_level(name).ok_or_else(|| {
                format!(
                    "level: {name:?} is not one of debug, info, notice, warning, error, critical"
                )
            })?),
        };
        let path = match rule.path.as_deref() {
            None => None,
            Some(p) if !p.starts_with('/') => {
                return Err(format!("path: {p:?} does not start with /"))
            }
            Some(p) => Some(p.to_owned()),
        };
        let status = match rule.status.as_deref() {
            None => None,
            Some(s) => Some(
                parse_status(s)
                    .ok_or_else(|| format!("status: {s:?} is not 200, 2xx or 200-299"))?,
            ),
        };
        let message = match rule.message.as_deref() {
            None => None,
            Some(re) => Some(Regex::new(re).map_err(|e| format!("message: bad regex: {e}"))?),
        };
        let m = Matcher {
            kinds,
            dyno,
            level,
            path,
            status,
            message,
        };
        if m.kinds.is_none()
            && m.dyno.is_none()
            && m.level.is_none()
            && m.path.is_none()
            && m.status.is_none()
            && m.message.is_none()
        {
            return Err(
                "no condition: give at least one of kind, dyno, level, path, status, message"
                    .into(),
            );
        }
        Ok(m)
    }

    /// Whether every condition holds for `rec`. Cheap conditions first; the regex last.
    pub(super) fn matches(&self, rec: &LogRecord<'_>) -> bool {
        if let Some(bits) = self.kinds {
            if bits & kind_bit(rec.kind) == 0 {
                return false;
            }
        }
        if let Some(level) = self.level {
            if rec.level < level {
                return false;
            }
        }
        if let Some((lo, hi)) = self.status {
            match rec.columns.status {
                Some(s) if (lo..=hi).contains(&s) => {}
                _ => return false,
            }
        }
        if let Some(prefix) = &self.path {
            let Some(path) = rec.columns.path.as_deref() else {
                return false;
            };
            let path = path.split_once('?').map_or(path, |(p, _)| p);
            if !path.starts_with(prefix.as_str()) {
                return false;
            }
        }
        if let Some(want) = &self.dyno {
            // Router lines' own PROCID is `router`; the dyno that served the request counts too.
            let served = match rec.kind {
                Kind::Router => rec.columns.router_dyno.as_deref(),
                _ => None,
            };
            if !want.matches(&rec.dyno) && !served.is_some_and(|d| want.matches(d)) {
                return false;
            }
        }
        if let Some(re) = &self.message {
            if !re.is_match(&rec.message) {
                return false;
            }
        }
        true
    }
}

impl DynoMatch {
    fn matches(&self, dyno: &str) -> bool {
        match self {
            DynoMatch::Exact(want) => dyno == want,
            DynoMatch::Process(kind) => match dyno.strip_prefix(kind.as_str()) {
                Some("") => true,
                Some(rest) => rest
                    .strip_prefix('.')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
                None => false,
            },
        }
    }
}

/// A level name as the API spells it.
fn parse_level(name: &str) -> Option<Level> {
    [
        Level::Critical,
        Level::Error,
        Level::Warning,
        Level::Notice,
        Level::Info,
        Level::Debug,
    ]
    .into_iter()
    .find(|l| l.as_str() == name)
}

/// `200`, `2xx` (or `2XX`) or `200-299`, within 100–599.
fn parse_status(s: &str) -> Option<(i16, i16)> {
    let code = |t: &str| -> Option<i16> {
        if t.len() != 3 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok().filter(|n| (100..=599).contains(n))
    };
    let b = s.as_bytes();
    if b.len() == 3 && matches!(b[0], b'1'..=b'5') && b[1..].eq_ignore_ascii_case(b"xx") {
        let hundreds = i16::from(b[0] - b'0') * 100;
        return Some((hundreds, hundreds + 99));
    }
    if let Some((lo, hi)) = s.split_once('-') {
        let (lo, hi) = (code(lo)?, code(hi)?);
        return (lo <= hi).then_some((lo, hi));
    }
    code(s).map(|n| (n, n))
}
