//! PURE: the rules applied to each line at ingest: redaction of secrets in the message, and
//! drop and sampling rules that decide whether a line is stored at all. No I/O, no async:
//! [`compile`] turns the `[rules]` table of the config file into [`Rules`] once, and the
//! request handlers share it (`Arc<Rules>`; it is `Send + Sync`).
//!
//! ```toml
//! [rules.redact]            # every builtin is on unless turned off
//! # emails = true           # mask e-mail addresses as [REDACTED]@domain
//! # hash_client_ips = true  # router fwd IPs → ip-<16 hex of SHA-256(salt ‖ ip)>
//! # ip_hash_salt = "…"
//! # secret_names = ["pin"]  # added to the builtin secret key names
//!
//! # [[rules.redact.patterns]]
//! # name = "internal ids"
//! # regex = 'acct=(?P<secret>\d+)'   # only the `secret` group is replaced, if there is one
//! # replacement = "[ACCOUNT]"        # default [REDACTED]
//!
//! [[rules.drop]]
//! name = "health checks"
//! kind = ["router"]
//! path = "/health"
//! status = "200"
//!
//! [[rules.sample]]
//! name = "debug chatter"
//! level = "debug"
//! keep_one_in = 10
//! ```
//!
//! **Redaction** ([`Rules::redact`]) replaces each secret value by `[REDACTED]` and leaves
//! every other byte alone, so a redacted line still parses as what it was:
//! - `query_params`: secret-named URL query parameters (`?access_token=…&state=x` keeps
//!   `state`; `code`, an OAuth code, is kept: single-use and too common a name) and URL
//!   passwords (`postgres://user:[REDACTED]@host`);
//! - `authorization`: `Authorization: Bearer [REDACTED]` (the scheme stays) and a stand-alone
//!   `Bearer <token>` when the token has 12+ characters with a digit or punctuation;
//! - `secret_keys`: values under secret key names in logfmt (`password=…`), JSON
//!   (`"password":"…"`; a number or boolean becomes the string `"[REDACTED]"`, `null`,
//!   objects and arrays stay), escaped JSON inside a string (`\"password\":\"…\"`), Ruby
//!   hashes (`"password"=>"…"`, `:password=>…`) and `password: …`. Names compare
//!   case-insensitively with `-`, `.` and camelCase humps read as `_` (`X-Auth-Token`,
//!   `apiKey`); a key matches a name or ends with `_` + a name (`db_password`), so
//!   `request_id` and `token_count` do not. Values a logger already masked (`[FILTERED]`,
//!   `***`) are left and not counted;
//! - `card_numbers`: 13–19 digits whose prefix and length fit a card network (so epoch
//!   timestamps, which start with 1, never do) and that pass Luhn, bare or grouped 4-4-4-4 /
//!   4-6-5 with single spaces or dashes, not part of a word, decimal, UUID or `+` number;
//! - `key_shapes`: `AKIA…`/`ASIA…` key ids, JWTs (whole), private key blocks (between the
//!   BEGIN and END lines, or to the end of the text when END is missing), and token prefixes
//!   (`sk_live_`, `ghp_`, `xoxb-`, `AIza`, …: the prefix stays, what follows is replaced).
//!
//! **Drop and sampling** ([`Rules::verdict`]): drop rules are tried in order, then sample
//! rules in order; the first rule whose conditions all hold decides. A sample rule keeps the
//! 1st, (N+1)th, (2N+1)th … line it matches, counted per rule **in this process**: each
//! process (and each web dyno) samples on its own, and a restart starts the count again.

mod apply;
mod cards;
mod config;
mod keys;
mod matching;
mod redact;
mod shapes;
mod spans;

pub use apply::{apply, Applied};
pub use config::{MatchRule, PatternRule, RedactConfig, RulesConfig, SampleRule};
pub use keys::SECRET_NAMES;
pub use redact::Redacted;
pub use spans::{
    AUTHORIZATION, CARD_NUMBERS, CLIENT_IPS, EMAILS, KEY_SHAPES, QUERY_PARAMS, REDACTED,
    SECRET_KEYS,
};

use crate::record::LogRecord;
use matching::Matcher;
use redact::Redactor;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A rule that does not compile: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Where the rule is: `rules.drop[1] "health"` (indices count from 0).
    pub rule: String,
    /// What is wrong: `status: "2x" is not 200, 2xx or 200-299`.
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.reason)
    }
}

impl std::error::Error for RuleError {}

/// Identifies a drop or sample rule of one [`Rules`]: drop rules first, then sample rules,
/// each in config order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleId(pub usize);

/// What happens to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Store it.
    Keep,
    /// A drop rule matched.
    Drop(RuleId),
    /// A sample rule matched and this line is not the one in N that is kept.
    SampledOut(RuleId),
}

/// One compiled drop or sample rule.
#[derive(Debug)]
struct LineRule {
    name: String,
    matcher: Matcher,
    /// 0 for a drop rule.
    keep_one_in: u64,
    /// Lines this sample rule has matched in this process.
    seen: AtomicU64,
}

/// Compiled rules: built once by [`compile`], shared by every request.
#[derive(Debug)]
pub struct Rules {
    redactor: Redactor,
    /// Drop rules, then sample rules.
    lines: Vec<LineRule>,
    /// How many of `lines` are drop rules.
    drops: usize,
}

/// Validates and compiles the `[rules]` table.
pub fn compile(cfg: &RulesConfig) -> Result<Rules, RuleError> {
    let redactor = Redactor::compile(&cfg.redact)?;
    let mut lines: Vec<LineRule> = Vec::with_capacity(cfg.drop.len() + cfg.sample.len());
    let drops = cfg.drop.iter().enumerate().map(|(i, r)| ("drop", i, r, 0));
    let samples = cfg
        .sample
        .iter()
        .enumerate()
        .map(|(i, r)| ("sample", i, &r.matcher, r.keep_one_in));
    for (table, i, rule, keep_one_in) in drops.chain(samples) {
        let label = if rule.name.is_empty() {
            format!("rules.{table}[{i}]")
        } else {
            format!("rules.{table}[{i}] {:?}", rule.name)
        };
        let err = |reason: String| RuleError {
            rule: label.clone(),
            reason,
        };
        if rule.name.trim().is_empty() {
            return Err(err("name is empty".into()));
        }
        if lines.iter().any(|l| l.name == rule.name) {
            return Err(err("name is used by another drop or sample rule".into()));
        }
        if table == "sample" && keep_one_in == 0 {
            return Err(err("keep_one_in must be at least 1".into()));
        }
        lines.push(LineRule {
            name: rule.name.clone(),
            matcher: Matcher::compile(rule).map_err(err)?,
            keep_one_in: u64::from(keep_one_in),
            seen: AtomicU64::new(0),
        });
    }
    Ok(Rules {
        redactor,
        lines,
        drops: cfg.drop.len(),
    })
}

impl Default for Rules {
    /// The builtin redactions and no line rules.
    fn default() -> Self {
        match compile(&RulesConfig::default()) {
            Ok(rules) => rules,
            // The default config is valid; a test checks it.
            Err(e) => unreachable!("default rules: {e}"),
        }
    }
}

impl Rules {
    /// Rules that change nothing: every builtin redaction off, no pattern, no drop or sample
    /// rule. What benches and fuzz targets compare the default rules against.
    pub fn none() -> Rules {
        let cfg = RulesConfig {
            redact: RedactConfig {
                query_params: false,
                authorization: false,
                secret_keys: false,
                card_numbers: false,
                key_shapes: false,
                ..RedactConfig::default()
            },
            ..RulesConfig::default()
        };
        match compile(&cfg) {
            Ok(rules) => rules,
            // A config with everything off is valid; a test checks it.
            Err(e) => unreachable!("rules that change nothing: {e}"),
        }
    }

    /// Masks the secrets in `text`, a message of `app_name`/`procid` (`heroku`/`router` for
    /// router lines, whose `fwd` may be hashed). `None` when nothing changed, which costs no
    /// allocation.
    pub fn redact(&self, app_name: &str, procid: &str, text: &str) -> Option<Redacted> {
        self.redactor.redact(app_name, procid, text)
    }

    /// Whether [`Rules::redact`] can change anything at all.
    pub fn redacts(&self) -> bool {
        self.redactor.active()
    }

    /// Whether there is any drop or sample rule, i.e. whether [`Rules::verdict`] can say
    /// anything but `Keep`.
    pub fn has_line_rules(&self) -> bool {
        !self.lines.is_empty()
    }

    /// Drop rules in order, then sample rules in order: the first that matches decides. A
    /// sample rule counts the lines it matches (per process) and keeps the 1st, (N+1)th, …
    /// Message conditions see `rec.message` as it is: call this before redacting to match
    /// the original text.
    pub fn verdict(&self, rec: &LogRecord<'_>) -> Verdict {
        for (i, rule) in self.lines.iter().enumerate() {
            if !rule.matcher.matches(rec) {
                continue;
            }
            if i < self.drops {
                return Verdict::Drop(RuleId(i));
            }
            let n = rule.seen.fetch_add(1, Ordering::Relaxed);
            return if n % rule.keep_one_in == 0 {
                Verdict::Keep
            } else {
                Verdict::SampledOut(RuleId(i))
            };
        }
        Verdict::Keep
    }

    /// The name of a drop or sample rule (`""` for an id of other rules).
    pub fn rule_name(&self, id: RuleId) -> &str {
        self.lines.get(id.0).map_or("", |r| r.name.as_str())
    }

    /// Every drop and sample rule: its id, name and whether it is a drop rule.
    pub fn line_rules(&self) -> impl Iterator<Item = (RuleId, &str, bool)> + '_ {
        self.lines
            .iter()
            .enumerate()
            .map(|(i, r)| (RuleId(i), r.name.as_str(), i < self.drops))
    }
}

#[cfg(test)]
mod tests;
