//! `serve`'s alert flags: how often rules are evaluated and how notifications are sent
//! (checked by `config::load`). The rules themselves are the config file's `[[alerts]]` (see
//! `file.rs`) and the API's.

use crate::units::parse_duration;
use clap::Args;
use std::time::Duration;

/// Alert evaluation and notification settings.
#[derive(Debug, Args)]
pub struct AlertArgs {
    /// How often alert rules are evaluated (by one of the processes sharing the database).
    #[arg(long, env = "LOGDRAIN_ALERT_EVERY", default_value = "30s", value_parser = parse_duration)]
    pub alert_every: Duration,

    /// Time limit of one notification attempt (connect, send, answer).
    #[arg(long, env = "LOGDRAIN_ALERT_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub alert_timeout: Duration,

    /// Attempts after the first when a notification fails (5xx, 408, 429, no answer).
    #[arg(long, env = "LOGDRAIN_ALERT_RETRIES", default_value_t = 4)]
    pub alert_retries: u32,

    /// Wait before the first retry of a notification, doubled for each next one (at most 1m).
    #[arg(long, env = "LOGDRAIN_ALERT_BACKOFF", default_value = "1s", value_parser = parse_duration)]
    pub alert_backoff: Duration,

    /// This server's public URL (`https://logs.example.com`), for the links in notifications;
    /// without it they are paths (`/api/apps/…`).
    #[arg(long, env = "LOGDRAIN_PUBLIC_URL")]
    pub public_url: Option<String>,
}
