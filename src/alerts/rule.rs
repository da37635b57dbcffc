//! PURE: an alert rule as written (`[[alerts]]` in the config file, or the API's JSON body)
//! and its validated form. The filter is a `/logs` query string, checked by the `/logs`
//! parser itself; every error names the key at fault.

use crate::query::params::parse_log_query;
use crate::secret::Secret;
use crate::store::filter::LogFilter;
use crate::units::parse_duration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a rule measures over its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// Lines matching the filter; fires at ≥ threshold.
    Count,
    /// Matching router lines as a share of all router lines; fires at ≥ threshold once the
    /// window holds at least `min_volume` router lines.
    Rate,
    /// p95 `service_ms` of the matching router lines; fires at ≥ threshold.
    Latency,
    /// Fires when fewer than `threshold` (default 1: none) lines match.
    Absence,
    /// Messages Logplex reported lost (L10/L12/L13) plus `Logplex-Msg-Count` mismatches;
    /// fires at ≥ threshold.
    Loss,
}

impl AlertKind {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Count => "count",
            AlertKind::Rate => "rate",
            AlertKind::Latency => "latency",
            AlertKind::Absence => "absence",
            AlertKind::Loss => "loss",
        }
    }

    /// Reads [`AlertKind::as_str`]'s form.
    pub fn parse(s: &str) -> Option<AlertKind> {
        Some(match s {
            "count" => AlertKind::Count,
            "rate" => AlertKind::Rate,
            "latency" => AlertKind::Latency,
            "absence" => AlertKind::Absence,
            "loss" => AlertKind::Loss,
            _ => return None,
        })
    }

    /// Whether `value` (None: no data) breaches `threshold`.
    pub fn breaches(self, value: Option<f64>, threshold: f64) -> bool {
        match (self, value) {
            (AlertKind::Absence, v) => v.unwrap_or(0.0) < threshold,
            (_, Some(v)) => v >= threshold,
            (_, None) => false,
        }
    }
}

/// The body format of a notification target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// logdrain's own JSON (docs/ALERTS.md).
    Webhook,
    /// A Slack incoming webhook (`{"text": …}`).
    Slack,
    /// The body Alertmanager sends its webhook receivers (version 4).
    Alertmanager,
}

impl Format {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Webhook => "webhook",
            Format::Slack => "slack",
            Format::Alertmanager => "alertmanager",
        }
    }
}

/// A `notify` entry as written: a URL (Slack's hooks.slack.com URLs get the Slack format,
/// others the generic webhook), or `{url, format}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TargetSpec {
    /// Just the URL.
    Url(String),
    /// URL and format.
    Full {
        /// The webhook URL.
        url: String,
        /// Its body format.
        format: Option<Format>,
    },
}

/// A rule as written in `[[alerts]]` or a JSON body. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique per app: letters, digits, `_`, `.`, `-` (up to 64).
    pub name: String,
    /// The app (required in the config file; the URL gives it in the API).
    pub app: Option<String>,
    /// `count`, `rate`, `latency`, `absence` or `loss`.
    pub kind: String,
    /// A `/logs` query string (`kind=router&status=5xx`); empty: every line.
    #[serde(default)]
    pub filter: String,
    /// The value compared; see [`AlertKind`] (count, absence, loss default to 1).
    pub threshold: Option<f64>,
    /// The window back from each round (`5m`).
    pub window: String,
    /// How long a breach must last before firing (default `0s`).
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// rate: fewer router lines than this in the window never fire (default 100).
    pub min_volume: Option<i64>,
    /// Webhook URLs.
    #[serde(default)]
    pub notify: Vec<TargetSpec>,
    /// While firing, remind this often (`1h`); none by default.
    pub remind: Option<String>,
    /// Send nothing before this RFC 3339 time.
    pub snooze_until: Option<DateTime<Utc>>,
}

/// A notification target, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The whole URL: a secret (Slack's and most webhook URLs carry their credential).
    pub url: Secret,
    /// Its body format.
    pub format: Format,
}

impl Target {
    /// The URL as it may be logged and shown: `scheme://host[:port]/…`.
    pub fn shown(&self) -> String {
        shown_url(self.url.expose())
    }
}

/// `scheme://host[:port]/…` of a URL: never its path, query or user info, which may hold a
/// secret.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}/…", u.scheme()),
                None => format!("{}://{host}/…", u.scheme()),
            }
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The app's name.
    pub app: String,
    /// The rule's name.
    pub name: String,
    /// What it measures.
    pub kind: AlertKind,
    /// The `/logs` query string, as given.
    pub filter: String,
    /// The value compared.
    pub threshold: f64,
    /// The window.
    pub window: Duration,
    /// How long a breach must last before firing.
    pub for_: Duration,
    /// rate: the fewest router lines that may fire.
    pub min_volume: i64,
    /// Where notifications go.
    pub notify: Vec<Target>,
    /// Reminder interval while firing.
    pub remind: Option<Duration>,
    /// Quiet until then.
    pub snooze_until: Option<DateTime<Utc>>,
}

/// A definition that does not validate: names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct RuleError {
    /// The key at fault (`window`, `filter`, `notify[1]`, …).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

fn bad(key: impl Into<String>, message: impl Into<String>) -> RuleError {
    RuleError {
        key: key.into(),
        message: message.into(),
    }
}

/// `/logs` parameters that make no sense in a rule: the window sets the time range.
const NOT_IN_FILTER: &[&str] = &["since", "until", "cursor", "n", "format"];

/// Parses a rule's filter with the `/logs` parser (for validation, and at every round).
pub fn parse_filter(filter: &str) -> Result<LogFilter, RuleError> {
    for (key, _) in form_urlencoded::parse(filter.as_bytes()) {
        if NOT_IN_FILTER.contains(&&*key) {
            return Err(bad(
                "filter",
                format!("`{key}` is not a filter here: the window sets the time range"),
            ));
        }
    }
    parse_log_query(filter, None, 0, 0)
        .map(|q| q.filter)
        .map_err(|e| bad("filter", e.to_string()))
}

fn duration(key: &str, value: &str) -> Result<Duration, RuleError> {
    parse_duration(value).map_err(|e| bad(key, e))
}

impl RuleSpec {
    /// Validates the definition; `app` is the URL's app in the API (it wins over the body's,
    /// which must then agree), None for the config file (where `app` is required).
    pub fn validate(self, app: Option<&str>) -> Result<Rule, RuleError> {
        let app = match (app, self.app.as_deref()) {
            (Some(url_app), Some(body_app)) if url_app != body_app => {
                return Err(bad("app", "differs from the app in the URL"))
            }
            (Some(a), _) | (None, Some(a)) => a.to_owned(),
            (None, None) => return Err(bad("app", "missing")),
        };
        if crate::record::AppName::parse(&app).is_none() {
            return Err(bad("app", format!("{app:?} is not a Heroku app name")));
        }
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !name_ok {
            return Err(bad(
                "name",
                "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            ));
        }
        let kind = AlertKind::parse(&self.kind).ok_or_else(|| {
            bad(
                "kind",
                format!(
                    "{:?} is not one of count, rate, latency, absence, loss",
                    self.kind
                ),
            )
        })?;
        parse_filter(&self.filter)?;
        if kind == AlertKind::Loss && !self.filter.trim().is_empty() {
            return Err(bad(
                "filter",
                "a loss rule counts what Logplex reported for the whole app: no filter",
            ));
        }
        let threshold = match (kind, self.threshold) {
            (_, Some(t)) if !t.is_finite() || t < 0.0 => {
                return Err(bad("threshold", "must be a number ≥ 0"))
            }
            (AlertKind::Rate, Some(t)) if t > 1.0 => {
                return Err(bad(
                    "threshold",
                    "a rate is a share between 0 and 1 (0.02 = 2%)",
                ))
            }
            (_, Some(t)) => t,
            (AlertKind::Rate | AlertKind::Latency, None) => {
                return Err(bad("threshold", "required for rate and latency rules"))
            }
            (_, None) => 1.0,
        };
        let window = duration("window", &self.window)?;
        if window.as_secs() < 1 {
            return Err(bad("window", "must be at least 1s"));
        }
        let for_ = match &self.for_ {
            Some(f) => duration("for", f)?,
            None => Duration::ZERO,
        };
        let remind = match &self.remind {
            Some(r) => Some(duration("remind", r)?)
                .filter(|d| d.as_secs() >= 1)
                .ok_or_else(|| bad("remind", "must be at least 1s"))
                .map(Some)?,
            None => None,
        };
        let min_volume = self.min_volume.unwrap_or(100);
        if min_volume < 0 {
            return Err(bad("min_volume", "must be 0 or more"));
        }
        let notify = self
            .notify
            .into_iter()
            .enumerate()
            .map(|(i, t)| target(i, t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rule {
            app,
            name: self.name,
            kind,
            filter: self.filter.trim().to_owned(),
            threshold,
            window,
            for_,
            min_volume,
            notify,
            remind,
            snooze_until: self.snooze_until,
        })
    }
}

/// Validates the config file's `[[alerts]]`: each rule, and no app and name twice. The error
/// names the rule (`[[alerts]] #2 (h12): window: …`).
pub fn validate_config(specs: Vec<RuleSpec>) -> Result<Vec<Rule>, String> {
    let mut rules: Vec<Rule> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        let name = spec.name.clone();
        let rule = spec
            .validate(None)
            .map_err(|e| format!("[[alerts]] #{} ({name}): {e}", i + 1))?;
        if rules
            .iter()
            .any(|r| r.app == rule.app && r.name == rule.name)
        {
            return Err(format!(
                "[[alerts]] #{} ({name}): app {} has two rules of that name",
                i + 1,
                rule.app
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn target(i: usize, spec: TargetSpec) -> Result<Target, RuleError> {
    let (url, format) = match spec {
        TargetSpec::Url(url) => (url, None),
        TargetSpec::Full { url, format } => (url, format),
    };
    let key = format!("notify[{i}]");
    let parsed = reqwest::Url::parse(&url).map_err(|_| bad(&key, "not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad(&key, "must be an http:// or https:// URL"));
    }
    let format = format.unwrap_or(if parsed.host_str() == Some("hooks.slack.com") {
        Format::Slack
    } else {
        Format::Webhook
    });
    Ok(Target {
        url: Secret::new(url),
        format,
    })
}

#[cfg(test)]
mod tests;
