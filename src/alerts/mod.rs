//! Alerts: rules over the stored lines, evaluated in rounds by one process of many, and the
//! notifications their state changes send. `rule.rs` (PURE) validates definitions from the
//! config file and the API; `state.rs` (PURE) is the ok → pending → firing → resolved machine;
//! `evaluate.rs` runs the rounds (reads through `store::alerts`); `notify.rs` builds the
//! webhook, Slack and Alertmanager bodies and sends them with retries. See docs/ALERTS.md.

mod evaluate;
pub mod notify;
pub mod rule;
pub mod state;

pub use evaluate::{Evaluator, RoundReport};
pub use rule::{AlertKind, Format, Rule, RuleError, RuleSpec, Target};
pub use state::{Notice, State};

use std::time::Duration;

/// How rounds run and notifications are sent (`LOGDRAIN_ALERT_*`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Time between rounds (`LOGDRAIN_ALERT_EVERY`).
    pub every: Duration,
    /// One webhook attempt's time limit (`LOGDRAIN_ALERT_TIMEOUT`).
    pub timeout: Duration,
    /// Attempts after the first (`LOGDRAIN_ALERT_RETRIES`).
    pub retries: u32,
    /// The wait before the first retry, doubled for each next one (`LOGDRAIN_ALERT_BACKOFF`).
    pub backoff: Duration,
    /// The server's public base URL for links in notifications (`LOGDRAIN_PUBLIC_URL`);
    /// without it, links are paths (`/api/apps/…`).
    pub public_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            every: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            retries: 4,
            backoff: Duration::from_secs(1),
            public_url: None,
        }
    }
}

impl Settings {
    /// The longest a sender may take over one notification (every attempt timing out, every
    /// backoff waited), plus a margin: the lease it holds on the delivery row.
    pub fn lease(&self) -> Duration {
        let attempts = self.retries + 1;
        let waits: Duration = (0..self.retries).map(|k| self.backoff_after(k)).sum();
        self.timeout * attempts + waits + Duration::from_secs(30)
    }

    /// The wait after failed attempt `k` (0-based): backoff × 2^k, at most a minute.
    pub fn backoff_after(&self, k: u32) -> Duration {
        self.backoff
            .saturating_mul(1u32 << k.min(16))
            .min(Duration::from_secs(60))
    }
}
