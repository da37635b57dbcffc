//! The `[rules]` table of the config file, as written: plain data that [`super::compile`]
//! validates. Unknown keys are errors at every level.

use serde::Deserialize;

/// `[rules]`: redaction settings, drop rules and sampling rules.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// `[rules.redact]`.
    #[serde(default)]
    pub redact: RedactConfig,
    /// `[[rules.drop]]`: lines matching any of these are not stored.
    #[serde(default)]
    pub drop: Vec<MatchRule>,
    /// `[[rules.sample]]`: of the lines matching one of these, one in `keep_one_in` is stored.
    #[serde(default)]
    pub sample: Vec<SampleRule>,
}

/// `[rules.redact]`: which secrets are masked in messages before they are stored. Every
/// builtin detector is on unless turned off; e-mail masking and client-IP hashing are opt-in.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RedactConfig {
    /// Secret-looking query parameters in URLs (`?access_token=…`) and passwords in URL
    /// user info (`postgres://user:pass@host`).
    pub query_params: bool,
    /// `Authorization: Bearer|Basic …` credentials and stand-alone `Bearer <token>`.
    pub authorization: bool,
    /// Values under secret-named keys: logfmt, JSON, Ruby hashes, `key: value`.
    pub secret_keys: bool,
    /// Payment card numbers: 13–19 digits with a card-network prefix, passing Luhn, with or
    /// without single space or dash separators.
    pub card_numbers: bool,
    /// Well-known credential shapes: AWS access key ids, private key blocks, JWTs and token
    /// prefixes (`sk_live_`, `ghp_`, `xoxb-`, …).
    pub key_shapes: bool,
    /// Extra secret key names, added to the builtin list.
    pub secret_names: Vec<String>,
    /// Masks e-mail addresses as `[REDACTED]@domain`. Off by default.
    pub emails: bool,
    /// Replaces router lines' `fwd` client IPs by a salted hash. Off by default; needs
    /// `ip_hash_salt`.
    pub hash_client_ips: bool,
    /// The salt of the client-IP hash.
    pub ip_hash_salt: Option<String>,
    /// `[[rules.redact.patterns]]`: custom regex redactions.
    pub patterns: Vec<PatternRule>,
}

impl Default for RedactConfig {
    fn default() -> Self {
        Self {
            query_params: true,
            authorization: true,
            secret_keys: true,
            card_numbers: true,
            key_shapes: true,
            secret_names: Vec::new(),
            emails: false,
            hash_client_ips: false,
            ip_hash_salt: None,
            patterns: Vec::new(),
        }
    }
}

/// `[[rules.redact.patterns]]`: a custom redaction. When `regex` has a group named `secret`,
/// only that group is replaced; otherwise the whole match.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PatternRule {
    /// Names the rule in errors and redaction counts.
    pub name: String,
    /// The regular expression (Rust `regex` syntax).
    pub regex: String,
    /// What replaces the secret; `[REDACTED]` when absent.
    pub replacement: Option<String>,
}

/// Conditions on a line; a rule matches when every condition given holds. At least one is
/// required.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MatchRule {
    /// Names the rule in errors and counters; unique across drop and sample rules.
    pub name: String,
    /// Line kinds: `router`, `app`, `api`, `system`, `runtime_metric`, `addon`.
    pub kind: Option<Vec<String>>,
    /// `web.1` (exact) or a process type `web` (matches `web` and `web.N`).
    pub dyno: Option<String>,
    /// Lines at this level or less severe: `info` matches info and debug.
    pub level: Option<String>,
    /// Router path prefix; the query string is ignored.
    pub path: Option<String>,
    /// Router status: `200`, `2xx` or `200-299`.
    pub status: Option<String>,
    /// A regex searched in the message text.
    pub message: Option<String>,
}

/// `[[rules.sample]]`: the conditions of a [`MatchRule`] and how many matching lines share
/// one stored line.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(from = "SampleRuleToml")]
pub struct SampleRule {
    /// Which lines the rule samples.
    pub matcher: MatchRule,
    /// Keep the 1st, (N+1)th, (2N+1)th … matching line; at least 1.
    pub keep_one_in: u32,
}

/// What a `[[rules.sample]]` table holds: the match conditions flattened next to
/// `keep_one_in`. Spelled out because serde's `flatten` cannot deny unknown fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleRuleToml {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: Option<Vec<String>>,
    #[serde(default)]
    dyno: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: Option<String>,
    keep_one_in: u32,
}

impl From<SampleRuleToml> for SampleRule {
    fn from(t: SampleRuleToml) -> Self {
        SampleRule {
            matcher: MatchRule {
                name: t.name,
                kind: t.kind,
                dyno: t.dyno,
                level: t.level,
                path: t.path,
                status: t.status,
                message: t.message,
            },
            keep_one_in: t.keep_one_in,
        }
    }
}
