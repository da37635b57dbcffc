//! PURE: applies [`Rules`] to the classified lines of one request, before anything is encoded
//! or written: drop and sampling rules first (on the line as received), then redaction. A
//! redacted line is classified again from its redacted text (`classify::reclassify`: its
//! header is kept, not re-parsed), so its fields, typed columns and `raw` bytes hold no secret
//! either.

use super::{Rules, Verdict};
use crate::classify::reclassify;
use crate::record::{LogRecord, RuleAction, RuleEvent};

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

    /// The counts as owned [`RuleEvent`]s, in the order of [`Applied::events`].
    pub fn into_events(self) -> Vec<RuleEvent> {
        let event = |action| {
            move |(rule, n): (String, u64)| RuleEvent {
                rule,
                action,
                count: i64::try_from(n).unwrap_or(i64::MAX),
            }
        };
        let d = self.dropped.into_iter().map(event(RuleAction::Dropped));
        let s = self
            .sampled_out
            .into_iter()
            .map(event(RuleAction::SampledOut));
        let x = self.redacted.into_iter().map(event(RuleAction::Redacted));
        d.chain(s).chain(x).collect()
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
pub fn apply(rules: &Rules, records: &mut Vec<LogRecord<'_>>) -> Applied {
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
            redact_tags(rules, rec, &mut applied);
            let Some(redacted) = rules.redact(&rec.source, &rec.dyno, &rec.message) else {
                continue;
            };
            for (rule, n) in &redacted.hits {
                bump(&mut applied.redacted, rule, u64::from(*n));
            }
            *rec = reclassify(rec, &redacted.text);
        }
    }
    applied
}

/// An OTLP line's attributes are text a secret can hide in too (`db.password`, a URL with a
/// token): its tags JSON gets the same redaction. Should the result not be JSON any more, the
/// tags are dropped rather than stored with a secret or broken.
fn redact_tags(rules: &Rules, rec: &mut LogRecord<'_>, applied: &mut Applied) {
    let Some(t) = rec.telemetry.as_deref_mut() else {
        return;
    };
    let Some(tags) = t.tags.as_deref() else {
        return;
    };
    let Some(redacted) = rules.redact(&rec.source, &rec.dyno, tags) else {
        return;
    };
    for (rule, n) in &redacted.hits {
        bump(&mut applied.redacted, rule, u64::from(*n));
    }
    let valid = serde_json::from_str::<serde::de::IgnoredAny>(&redacted.text).is_ok();
    t.tags = valid.then_some(std::borrow::Cow::Owned(redacted.text));
}
