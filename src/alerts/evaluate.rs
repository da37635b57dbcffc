//! The evaluation round: every `LOGDRAIN_ALERT_EVERY`, one process of those sharing the
//! database claims the round (advisory lock + `alert_rounds`), computes each rule's value over
//! its window, steps its state machine and writes each state change together with the
//! notifications it queues. Every process then leases pending deliveries and sends them, so a
//! notification is sent by one sender, and one whose sender died is taken over later.

use super::notify::{self, Event};
use super::rule::{parse_filter, AlertKind};
use super::state::{self, Notice, State, Status, Timing};
use super::Settings;
use crate::store::alerts::{NewDelivery, Round, RuleRow, StepWrite};
use crate::store::read::micros_to_utc;
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinSet;

/// Deliveries leased per round and process.
const LEASE_BATCH: i64 = 100;

/// Runs rounds and sends notifications.
#[derive(Clone)]
pub struct Evaluator {
    store: Store,
    client: reqwest::Client,
    settings: Arc<Settings>,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// False when another process ran it (or ran one less than an interval ago).
    pub ran: bool,
    /// Rules evaluated.
    pub rules: usize,
    /// Rules whose state changed or that queued a notification.
    pub changed: usize,
    /// Notifications queued (one per target).
    pub queued: usize,
    /// Rules that could not be evaluated (logged; their state is kept).
    pub failed: usize,
}

fn us(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

fn secs_us(s: i64) -> i64 {
    s.saturating_mul(1_000_000)
}

impl Evaluator {
    /// An evaluator over `store` (its reads are not bounded by the query timeout).
    pub fn new(store: Store, settings: Settings) -> Evaluator {
        Evaluator {
            client: notify::client(&settings),
            store,
            settings: Arc::new(settings),
        }
    }

    /// Runs a round every `every` and sends what is pending, for ever (aborted on shutdown;
    /// notifications being sent then are taken over when their lease runs out).
    pub async fn run(self) {
        let mut senders = JoinSet::new();
        let mut ticks = tokio::time::interval(self.settings.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            while senders.try_join_next().is_some() {}
            let now_us = chrono::Utc::now().timestamp_micros();
            match self.round(now_us).await {
                Ok(r) if r.ran => tracing::debug!(
                    rules = r.rules,
                    changed = r.changed,
                    queued = r.queued,
                    failed = r.failed,
                    "alert round done"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "alert round failed; retrying next interval"),
            }
            self.send_pending(&mut senders).await;
        }
    }

    /// One round as of `now_us`, if this process gets it.
    pub async fn round(&self, now_us: i64) -> Result<RoundReport, StoreError> {
        // A little under the interval: the process that ran the last round ticks again one
        // interval later and must find the round due.
        let min_gap = self.settings.every.mul_f64(0.9);
        let Some(mut round) = self.store.begin_alert_round(now_us, min_gap).await? else {
            return Ok(RoundReport::default());
        };
        let result = self.evaluate(&mut round, now_us).await;
        self.store.end_alert_round(round).await;
        result
    }

    /// Leases pending deliveries and sends each in its own task.
    pub async fn send_pending(&self, senders: &mut JoinSet<()>) {
        let leased = match self
            .store
            .lease_alert_deliveries(self.settings.lease(), LEASE_BATCH)
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "alert deliveries not leased; retrying next interval");
                return;
            }
        };
        for d in leased {
            let (store, client, settings) = (
                self.store.clone(),
                self.client.clone(),
                self.settings.clone(),
            );
            senders.spawn(async move { notify::send(&store, &client, &settings, d).await });
        }
    }

    async fn evaluate(&self, round: &mut Round, now_us: i64) -> Result<RoundReport, StoreError> {
        let rows = self.store.alert_rules(None).await?;
        let mut names: Vec<String> = rows.iter().map(|r| r.app.clone()).collect();
        names.sort();
        names.dedup();
        let apps: HashMap<String, i64> = self.store.app_ids(&names).await?.into_iter().collect();
        let mut report = RoundReport {
            ran: true,
            ..RoundReport::default()
        };
        let mut unchanged = Vec::new();
        for row in &rows {
            report.rules += 1;
            match self
                .evaluate_rule(round, row, apps.get(&row.app).copied(), now_us)
                .await
            {
                Ok(Outcome::Unchanged(value)) => unchanged.push((row.id, value)),
                Ok(Outcome::Changed { queued }) => {
                    report.changed += 1;
                    report.queued += queued;
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(app = %row.app, rule = %row.name, error = %e, "alert rule not evaluated");
                }
            }
        }
        self.store
            .record_alert_values(round, &unchanged, now_us)
            .await?;
        Ok(report)
    }

    async fn evaluate_rule(
        &self,
        round: &mut Round,
        row: &RuleRow,
        app_id: Option<i64>,
        now_us: i64,
    ) -> Result<Outcome, String> {
        let rule = row.rule().ok_or("stored definition does not validate")?;
        let filter = parse_filter(&rule.filter).map_err(|e| e.to_string())?;
        let value = match app_id {
            // No line yet: nothing counted, no request measured.
            None if matches!(rule.kind, AlertKind::Rate | AlertKind::Latency) => None,
            None => Some(0.0),
            Some(id) => self
                .store
                .alert_value(id, &rule, &filter, now_us)
                .await
                .map_err(|e| e.to_string())?,
        };
        let from = Status {
            state: State::parse(&row.state).unwrap_or(State::Ok),
            since_us: us(row.state_since),
            notified: row.notified_state.as_deref().and_then(State::parse),
            notified_at_us: row.notified_at.map(us),
        };
        let timing = Timing {
            for_us: secs_us(row.for_secs),
            remind_us: row.remind_secs.map(secs_us),
            snoozed_until_us: row.snoozed_until.map(us),
        };
        let breach = rule.kind.breaches(value, rule.threshold);
        let step = state::step(&from, breach, &timing, now_us);
        if !step.changed(&from) {
            return Ok(Outcome::Unchanged(value));
        }
        let deliveries: Vec<NewDelivery> = match step.notice {
            None => Vec::new(),
            Some(notice) => {
                let firing_since = match notice {
                    Notice::Firing => step.next.since_us,
                    Notice::Reminder => from.since_us,
                    // The firing this ends: its state's start, or when it was announced.
                    Notice::Resolved if from.state == State::Firing => from.since_us,
                    Notice::Resolved => from.notified_at_us.unwrap_or(from.since_us),
                };
                let event = Event {
                    rule: &rule,
                    notice,
                    value,
                    at: micros_to_utc(now_us),
                    firing_since: micros_to_utc(firing_since),
                    base_url: self.settings.public_url.as_deref().unwrap_or(""),
                };
                rule.notify
                    .iter()
                    .map(|t| NewDelivery {
                        event: notice.as_str(),
                        url: t.url.expose().to_owned(),
                        target: t.shown(),
                        format: t.format.as_str(),
                        payload: event.payload(t.format),
                    })
                    .collect()
            }
        };
        let written = self
            .store
            .record_alert_step(
                round,
                &StepWrite {
                    rule_id: row.id,
                    from,
                    step,
                    value,
                    now_us,
                    deliveries: &deliveries,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        if written && from.state != step.next.state {
            tracing::info!(
                app = %row.app, rule = %row.name, from = from.state.as_str(),
                to = step.next.state.as_str(), value = ?value, "alert state changed"
            );
        }
        Ok(Outcome::Changed {
            queued: if written { deliveries.len() } else { 0 },
        })
    }
}

enum Outcome {
    Unchanged(Option<f64>),
    Changed { queued: usize },
}
