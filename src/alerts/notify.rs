//! Notifications: the bodies (logdrain's webhook JSON, a Slack incoming webhook, the
//! Alertmanager webhook format) built PURE from a rule's state change, and the sender that
//! POSTs a leased delivery with a timeout and retries with backoff, recording every attempt.
//! URLs are only ever logged and stored for display as `scheme://host/…`.

use super::rule::{AlertKind, Format, Rule};
use super::state::Notice;
use super::Settings;
use crate::store::alerts::{Delivery, DeliveryOutcome};
use crate::store::Store;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sha2::Digest as _;

/// One state change to announce.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// What is announced.
    pub notice: Notice,
    /// The value that caused it (None: no data).
    pub value: Option<f64>,
    /// The round's time (the window's end).
    pub at: DateTime<Utc>,
    /// When the rule started firing (for a resolution: the firing it ends).
    pub firing_since: DateTime<Utc>,
    /// The server's public base URL, without a trailing `/` ('' for relative links).
    pub base_url: &'a str,
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A duration as logdrain writes them: the largest whole unit (`300s` → `5m`).
fn duration_text(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn value_text(kind: AlertKind, v: Option<f64>) -> String {
    match (kind, v) {
        (_, None) => "no data".into(),
        (AlertKind::Rate, Some(v)) => format!("{:.2}%", v * 100.0),
        (AlertKind::Latency, Some(v)) => format!("{v:.0} ms"),
        (_, Some(v)) => format!("{v:.0}"),
    }
}

impl Event<'_> {
    /// `firing` or `resolved` (a reminder is still `firing`).
    pub fn state(&self) -> &'static str {
        match self.notice {
            Notice::Resolved => "resolved",
            Notice::Firing | Notice::Reminder => "firing",
        }
    }

    /// Where the lines that matched in the window are: the `/logs` query of the rule (its
    /// router lines for rate and latency), or `/loss` for a loss rule.
    pub fn link(&self) -> String {
        let r = self.rule;
        let since = self.at - chrono::Duration::from_std(r.window).unwrap_or_default();
        let mut q = form_urlencoded::Serializer::new(String::new());
        let endpoint = if r.kind == AlertKind::Loss {
            "loss"
        } else {
            for (k, v) in form_urlencoded::parse(r.filter.as_bytes()) {
                q.append_pair(&k, &v);
            }
            let router_only = matches!(r.kind, AlertKind::Rate | AlertKind::Latency);
            if router_only && !r.filter.split('&').any(|p| p.starts_with("kind=")) {
                q.append_pair("kind", "router");
            }
            "logs"
        };
        // The window exactly (to the microsecond), so the link finds what the rule counted.
        let exact = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        q.append_pair("since", &exact(&since));
        q.append_pair("until", &exact(&self.at));
        format!(
            "{}/api/apps/{}/{endpoint}?{}",
            self.base_url,
            r.app,
            q.finish()
        )
    }

    /// One line for people: `[FIRING] shop/h12: 14 ≥ 10 in 5m (code=H12)`.
    pub fn summary(&self) -> String {
        let r = self.rule;
        let head = match self.notice {
            Notice::Firing => "FIRING",
            Notice::Reminder => "STILL FIRING",
            Notice::Resolved => "RESOLVED",
        };
        let cmp = match (r.kind, self.notice) {
            (_, Notice::Resolved) => "threshold",
            (AlertKind::Absence, _) => "<",
            _ => "≥",
        };
        let threshold = value_text(r.kind, Some(r.threshold));
        let filter = if r.filter.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.filter)
        };
        format!(
            "[{head}] {}/{}: {} {} {cmp} {threshold} in {}{filter}",
            r.app,
            r.name,
            r.kind.as_str(),
            value_text(r.kind, self.value),
            duration_text(r.window),
        )
    }

    /// The body for `format`.
    pub fn payload(&self, format: Format) -> Value {
        match format {
            Format::Webhook => self.webhook(),
            Format::Slack => json!({
                "text": format!("{} — <{}|matching lines>", self.summary(), self.link()),
            }),
            Format::Alertmanager => self.alertmanager(),
        }
    }

    fn webhook(&self) -> Value {
        let r = self.rule;
        json!({
            "alert": r.name,
            "app": r.app,
            "kind": r.kind.as_str(),
            "state": self.state(),
            "reminder": self.notice == Notice::Reminder,
            "value": self.value,
            "threshold": r.threshold,
            "window": duration_text(r.window),
            "window_secs": r.window.as_secs(),
            "for": duration_text(r.for_),
            "filter": r.filter,
            "when": rfc3339(&self.at),
            "firing_since": rfc3339(&self.firing_since),
            "link": self.link(),
            "summary": self.summary(),
        })
    }

    /// What Alertmanager (version 4 of its webhook) would send a receiver for this alert, so
    /// receivers written for Alertmanager take logdrain's alerts as they are.
    fn alertmanager(&self) -> Value {
        let r = self.rule;
        let labels = json!({
            "alertname": r.name,
            "app": r.app,
            "kind": r.kind.as_str(),
            "source": "logdrain",
        });
        let annotations = json!({
            "summary": self.summary(),
            "value": value_text(r.kind, self.value),
            "threshold": value_text(r.kind, Some(r.threshold)),
            "window": duration_text(r.window),
            "filter": r.filter,
        });
        let ends_at = match self.notice {
            Notice::Resolved => rfc3339(&self.at),
            _ => "0001-01-01T00:00:00Z".to_owned(),
        };
        let digest = sha2::Sha256::digest(format!("{}\0{}", r.app, r.name).as_bytes());
        let fingerprint: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        json!({
            "version": "4",
            "groupKey": format!("{{}}:{{alertname=\"{}\", app=\"{}\"}}", r.name, r.app),
            "truncatedAlerts": 0,
            "status": self.state(),
            "receiver": "logdrain",
            "groupLabels": {"alertname": r.name, "app": r.app},
            "commonLabels": labels,
            "commonAnnotations": annotations,
            "externalURL": self.base_url,
            "alerts": [{
                "status": self.state(),
                "labels": labels,
                "annotations": annotations,
                "startsAt": rfc3339(&self.firing_since),
                "endsAt": ends_at,
                "generatorURL": self.link(),
                "fingerprint": fingerprint,
            }],
        })
    }
}

/// The client notifications are sent with: the per-attempt timeout, no redirects (a webhook
/// that moves is a configuration error to see, not to follow with the body).
pub fn client(settings: &Settings) -> reqwest::Client {
    crate::client::install_crypto();
    reqwest::Client::builder()
        .user_agent(concat!("logdrain/", env!("CARGO_PKG_VERSION")))
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Sends one leased delivery: attempts until one gets a 2xx, the receiver refuses it (a 4xx
/// other than 408 and 429), or `retries` more attempts have failed, waiting
/// `backoff × 2^k` between them. Every attempt is recorded.
pub async fn send(store: &Store, client: &reqwest::Client, settings: &Settings, d: Delivery) {
    let max_attempts = i64::from(settings.retries) + 1;
    let mut attempt = i64::from(d.attempts);
    let mut local = 0u32;
    loop {
        attempt += 1;
        let result = client.post(&d.url).json(&d.payload.0).send().await;
        let (status, error) = match result {
            Ok(res) => (Some(res.status()), None),
            // Without the URL: its path and query may hold the webhook's secret.
            Err(e) => (None, Some(e.without_url().to_string())),
        };
        let refused = status.is_some_and(|s| {
            s.is_client_error()
                && s != reqwest::StatusCode::REQUEST_TIMEOUT
                && s != reqwest::StatusCode::TOO_MANY_REQUESTS
        });
        let outcome = match status {
            Some(s) if s.is_success() => DeliveryOutcome::Delivered,
            _ if refused || attempt >= max_attempts => DeliveryOutcome::Failed,
            _ => DeliveryOutcome::Retry,
        };
        let http = status.map(|s| s.as_u16());
        match outcome {
            DeliveryOutcome::Delivered => {
                tracing::info!(target_url = %d.target, attempt, "alert notification delivered")
            }
            _ => tracing::warn!(
                target_url = %d.target, attempt, status = ?http, error = ?error,
                gave_up = outcome == DeliveryOutcome::Failed,
                "alert notification not delivered"
            ),
        }
        if let Err(e) = store
            .record_alert_attempt(d.id, outcome, http, error.as_deref())
            .await
        {
            // The lease runs out and a later round sends it again: at least once, not lost.
            tracing::warn!(error = %e, "alert delivery outcome not recorded");
            return;
        }
        if outcome != DeliveryOutcome::Retry {
            return;
        }
        tokio::time::sleep(settings.backoff_after(local)).await;
        local += 1;
    }
}

#[cfg(test)]
mod tests;
