//! PURE: applies [`Rules`] to the classified lines of one request, before anything is encoded
//! or written: drop and sampling rules first (on the line as received), then redaction. A
//! redacted line is classified again from its redacted text, so its fields, typed columns and
//! `raw` bytes hold no secret either.

use super::{Rules, Verdict};
use crate::classify::{classify, raw_line};
use crate::logplex;
use crate::record::LogRecord;
use std::borrow::Cow;

/// What the rules did to one request's lines: counts per rule name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Lines removed by a drop rule.
    pub dropped: Vec<(String, u64)>,
    /// Lines removed by a sample rule.
    pub sampled_out: Vec<(String, u64)>,
    /// Values replaced, per redaction rule.
    pub redacted: Vec<(String, u64)>,
}

impl Applied {
    /// Every count as (rule, action, count), action being `dropped`, `sampled_out` or
    /// `redacted`.
    pub fn events(&self) -> impl Iterator<Item = (&str, &'static str, u64)> + '_ {
        let d = self
            .dropped
            .iter()
            .map(|(r, n)| (r.as_str(), "dropped", *n));
        let s = self
            .sampled_out
            .iter()
            .map(|(r, n)| (r.as_str(), "sampled_out", *n));
        let x = self
            .redacted
            .iter()
            .map(|(r, n)| (r.as_str(), "redacted", *n));
        d.chain(s).chain(x)
    }

    /// Whether nothing happened.
    pub fn is_empty(&self) -> bool {
        self.dropped.is_empty() && self.sampled_out.is_empty() && self.redacted.is_empty()
    }
}

fn bump(list: &mut Vec<(String, u64)>, rule: &str, n: u64) {
    match list.iter_mut().find(|(r, _)| r == rule) {
        Some((_, count)) => *count += n,
        None => list.push((rule.to_owned(), n)),
    }
}

/// Applies `rules` to `records` in place (removing dropped and sampled-out lines, redacting
/// the rest) and says what it did.
pub fn apply(rules: &Rules, records: &mut Vec<LogRecord<'_>>, received_us: i64) -> Applied {
    let mut applied = Applied::default();
    if rules.has_line_rules() {
        records.retain(|rec| match rules.verdict(rec) {
            Verdict::Keep => true,
            Verdict::Drop(id) => {
                bump(&mut applied.dropped, rules.rule_name(id), 1);
                false
            }
            Verdict::SampledOut(id) => {
                bump(&mut applied.sampled_out, rules.rule_name(id), 1);
                false
            }
        });
    }
    if rules.redacts() {
        for rec in records.iter_mut() {
            let Some(redacted) = rules.redact(&rec.source, &rec.dyno, &rec.message) else {
                continue;
            };
            for (rule, n) in &redacted.hits {
                bump(&mut applied.redacted, rule, u64::from(*n));
            }
            *rec = rebuilt(rec, &redacted.text, received_us);
        }
    }
    applied
}

/// The record `rec` would have been had its message been `text`: the same syslog header, the
/// new message, classified again. Split-line bookkeeping carries over.
fn rebuilt(rec: &LogRecord<'_>, text: &str, received_us: i64) -> LogRecord<'static> {
    let header_len = match logplex::parse(&rec.raw) {
        Ok(msg) if rec.pri.is_some() => {
            (msg.msg.as_ptr() as usize).saturating_sub(rec.raw.as_ptr() as usize)
        }
        // A line stored raw (not syslog): its text is the whole of it.
        _ => 0,
    };
    let mut raw = Vec::with_capacity(header_len + text.len() + 1);
    raw.extend_from_slice(&rec.raw[..header_len.min(rec.raw.len())]);
    raw.extend_from_slice(text.as_bytes());
    if rec.raw.ends_with(b"\n") {
        raw.push(b'\n');
    }
    let mut out = if header_len == 0 {
        raw_line(&raw, received_us).into_owned()
    } else {
        match logplex::parse(&raw) {
            Ok(msg) => classify(&msg, &raw, received_us).into_owned(),
            Err(_) => raw_line(&raw, received_us).into_owned(),
        }
    };
    out.raw = Cow::Owned(raw);
    out.parts = rec.parts;
    out.continued = rec.continued;
    // An OTLP line keeps its trace, tags and stated level; its timestamp is in the header.
    if let Some(t) = &rec.telemetry {
        if let Some(level) = t.level {
            out.level = level;
        }
        out.telemetry = Some(Box::new(t.as_ref().clone().into_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::process_body;
    use crate::rules::{compile, RulesConfig};

    fn body(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            out.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
        }
        out
    }

    const ROUTER: &str = "<158>1 2026-11-21T10:00:00.000000+00:00 host heroku router - at=info method=GET path=\"/cb?access_token=ya29.a0AfB_secret&state=x\" host=shop.herokuapp.com request_id=8d9e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a fwd=\"203.0.113.7\" dyno=web.1 connect=1ms service=12ms status=200 bytes=512 protocol=https\n";

    #[test]
    fn a_redacted_router_line_is_classified_again_from_its_redacted_text() {
        let rules = Rules::default();
        let b = body(&[ROUTER]);
        let mut processed = process_body(&b, 1 << 20, 0);
        let applied = apply(&rules, &mut processed.records, 0);
        assert_eq!(applied.redacted.len(), 1, "{applied:?}");
        let rec = &processed.records[0];
        assert!(!rec.message.contains("ya29"), "{}", rec.message);
        assert!(!String::from_utf8_lossy(&rec.raw).contains("ya29"));
        assert_eq!(
            rec.columns.path.as_deref(),
            Some("/cb?access_token=[REDACTED]&state=x")
        );
        assert_eq!(rec.columns.status, Some(200));
        assert!(rec.raw.ends_with(b"protocol=https\n"));
        assert!(rec
            .raw
            .starts_with(b"<158>1 2026-11-21T10:00:00.000000+00:00 host heroku router - at=info"));
    }

    #[test]
    fn clean_lines_are_left_borrowed_and_untouched() {
        let rules = Rules::default();
        let line = "<190>1 2026-11-21T10:00:00.000000+00:00 host app web.1 - Completed 200 OK in 12ms request_id=8d9e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a\n";
        let b = body(&[line]);
        let mut processed = process_body(&b, 1 << 20, 0);
        let before = format!("{:?}", processed.records);
        let applied = apply(&rules, &mut processed.records, 0);
        assert!(applied.is_empty());
        assert_eq!(format!("{:?}", processed.records), before);
        assert!(matches!(processed.records[0].raw, Cow::Borrowed(_)));
    }

    #[test]
    fn drop_and_sample_rules_remove_lines_and_count_them() {
        let cfg: RulesConfig = toml::from_str(
            r#"
            [[drop]]
            name = "health checks"
            kind = ["router"]
            path = "/health"
            status = "200"

            [[sample]]
            name = "debug chatter"
            level = "debug"
            keep_one_in = 10
            "#,
        )
        .expect("config");
        let rules = compile(&cfg).expect("compile");
        let health = "<158>1 2026-11-21T10:00:00.000000+00:00 host heroku router - at=info method=GET path=\"/health\" host=a request_id=r1 fwd=\"1.2.3.4\" dyno=web.1 connect=0ms service=1ms status=200 bytes=2 protocol=https\n";
        let debug = "<190>1 2026-11-21T10:00:00.000000+00:00 host app web.1 - DEBUG cache miss\n";
        let mut lines = vec![health; 5];
        lines.extend(vec![debug; 20]);
        let b = body(&lines);
        let mut processed = process_body(&b, 1 << 20, 0);
        let applied = apply(&rules, &mut processed.records, 0);
        assert_eq!(applied.dropped, vec![("health checks".to_owned(), 5)]);
        assert_eq!(applied.sampled_out, vec![("debug chatter".to_owned(), 18)]);
        assert_eq!(processed.records.len(), 2);
        let events: Vec<_> = applied.events().collect();
        assert!(events.contains(&("health checks", "dropped", 5)));
    }
}
