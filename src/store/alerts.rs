//! Alert rules in Postgres (migrations/0008_alerts.sql): the config file's rules applied at
//! start, the API's create/update/delete/snooze, and the listings with state, history and
//! deliveries. The evaluation round's reads and writes are in `alerts/round.rs`, the pruning of
//! old history (part of maintenance) in `alerts/prune.rs`.

use super::{Store, StoreError};
use crate::alerts::{AlertKind, Format, Rule, Target};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::time::Duration;

mod prune;
mod round;

pub(super) use prune::prune_history;

pub use round::{Delivery, DeliveryOutcome, NewDelivery, Round, StepWrite, ALERT_LOCK_KEY};

/// A stored rule with its state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    /// alert_rules.id.
    pub id: i64,
    /// The app's name.
    pub app: String,
    /// The rule's name.
    pub name: String,
    /// Kind name.
    pub kind: String,
    /// The `/logs` query string.
    pub filter: String,
    /// The value compared.
    pub threshold: f64,
    /// Window, seconds.
    pub window_secs: i64,
    /// `for`, seconds.
    pub for_secs: i64,
    /// rate: fewest router lines.
    pub min_volume: i64,
    /// `[{"url", "format"}]`.
    pub notify: sqlx::types::Json<Value>,
    /// Reminder interval, seconds.
    pub remind_secs: Option<i64>,
    /// Quiet until then.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// `config` or `api`.
    pub source: String,
    /// ok, pending, firing, resolved.
    pub state: String,
    /// When it entered that state.
    pub state_since: DateTime<Utc>,
    /// Last value (None: no data).
    pub value: Option<f64>,
    /// Last evaluation.
    pub evaluated_at: Option<DateTime<Utc>>,
    /// What the last notification announced.
    pub notified_state: Option<String>,
    /// When.
    pub notified_at: Option<DateTime<Utc>>,
    /// SHA-256 of the status token, when one was issued (compared, never shown).
    pub status_token_hash: Option<Vec<u8>>,
}

const RULE_COLUMNS: &str = "id, app, name, kind, filter, threshold, window_secs, for_secs, \
     min_volume, notify, remind_secs, snoozed_until, source, state, state_since, value, \
     evaluated_at, notified_state, notified_at, status_token_hash";

impl RuleRow {
    /// The definition, as validated when it was stored (None if the row was edited by hand
    /// into something invalid).
    pub fn rule(&self) -> Option<Rule> {
        let notify = self
            .notify
            .0
            .as_array()?
            .iter()
            .map(|t| {
                Some(Target {
                    url: Secret::new(t.get("url")?.as_str()?),
                    format: serde_json::from_value::<Format>(t.get("format")?.clone()).ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let secs = |s: i64| Duration::from_secs(u64::try_from(s).unwrap_or(0));
        Some(Rule {
            app: self.app.clone(),
            name: self.name.clone(),
            kind: AlertKind::parse(&self.kind)?,
            filter: self.filter.clone(),
            threshold: self.threshold,
            window: secs(self.window_secs),
            for_: secs(self.for_secs),
            min_volume: self.min_volume,
            notify,
            remind: self.remind_secs.map(secs),
            snooze_until: self.snoozed_until,
        })
    }
}

/// One state change of a rule.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    /// The rule.
    pub rule_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// State left.
    pub from_state: String,
    /// State entered.
    pub to_state: String,
    /// The value then.
    pub value: Option<f64>,
}

/// One notification's outcome (never its URL, only the shown form).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    /// The rule.
    pub rule_id: i64,
    /// firing, resolved or reminder.
    pub event: String,
    /// `scheme://host/…`.
    pub target: String,
    /// Body format.
    pub format: String,
    /// pending, delivered, failed.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Last HTTP status.
    pub last_status: Option<i32>,
    /// Last error.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Delivered or given up at.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What a write through the API found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Done.
    Done,
    /// No rule of that name.
    NotFound,
    /// A rule of that name exists already (create).
    Exists,
    /// The rule comes from the config file, which is re-applied at every start: change it
    /// there.
    FromConfig,
}

/// Done when a row was written, else no such rule.
fn found(rows: u64) -> Written {
    if rows > 0 {
        Written::Done
    } else {
        Written::NotFound
    }
}

fn notify_json(rule: &Rule) -> Value {
    Value::Array(
        rule.notify
            .iter()
            .map(|t| json!({"url": t.url.expose(), "format": t.format.as_str()}))
            .collect(),
    )
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The definition columns, bound in this order after `app, name`.
const DEFINITION: &str =
    "kind, filter, threshold, window_secs, for_secs, min_volume, notify, remind_secs";

fn bind_definition<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    rule: &'q Rule,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(&rule.app)
        .bind(&rule.name)
        .bind(rule.kind.as_str())
        .bind(&rule.filter)
        .bind(rule.threshold)
        .bind(secs(rule.window))
        .bind(secs(rule.for_))
        .bind(rule.min_volume)
        .bind(sqlx::types::Json(notify_json(rule)))
        .bind(rule.remind.map(secs))
        .bind(rule.snooze_until)
}

impl Store {
    /// Makes the config file's rules the stored `config` rules: each upserted (its state
    /// kept), those no longer in the file deleted. A rule of the same app and name created
    /// through the API becomes the file's. Run at every start (several processes may).
    pub async fn sync_config_alerts(&self, rules: &[Rule]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut keep: Vec<(String, String)> = Vec::new();
        for rule in rules {
            let sql = format!(
                "INSERT INTO alert_rules (app, name, {DEFINITION}, snoozed_until, source) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'config') \
                 ON CONFLICT (app, name) DO UPDATE SET kind = $3, filter = $4, threshold = $5, \
                 window_secs = $6, for_secs = $7, min_volume = $8, notify = $9, remind_secs = $10, \
                 snoozed_until = COALESCE($11, alert_rules.snoozed_until), source = 'config', \
                 updated_at = now()"
            );
            bind_definition(sqlx::query(&sql), rule)
                .execute(&mut *tx)
                .await?;
            keep.push((rule.app.clone(), rule.name.clone()));
        }
        let (apps, names): (Vec<String>, Vec<String>) = keep.into_iter().unzip();
        sqlx::query(
            "DELETE FROM alert_rules WHERE source = 'config' AND (app, name) NOT IN \
             (SELECT * FROM unnest($1::text[], $2::text[]))",
        )
        .bind(apps)
        .bind(names)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates an API rule with the hash of its status token.
    pub async fn create_alert(
        &self,
        rule: &Rule,
        status_token_hash: &[u8],
    ) -> Result<Written, StoreError> {
        let sql = format!(
            "INSERT INTO alert_rules (app, name, {DEFINITION}, snoozed_until, source, \
             status_token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'api', $12) \
             ON CONFLICT (app, name) DO NOTHING"
        );
        let done = bind_definition(sqlx::query(&sql), rule)
            .bind(status_token_hash)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(if done == 1 {
            Written::Done
        } else {
            Written::Exists
        })
    }

    /// Replaces an API rule's definition (its state is kept).
    pub async fn update_alert(&self, rule: &Rule) -> Result<Written, StoreError> {
        let sql = "UPDATE alert_rules SET kind = $3, filter = $4, threshold = $5, \
             window_secs = $6, for_secs = $7, min_volume = $8, notify = $9, remind_secs = $10, \
             snoozed_until = $11, updated_at = now() \
             WHERE app = $1 AND name = $2 AND source = 'api'";
        let done = bind_definition(sqlx::query(sql), rule)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.written(done, &rule.app, &rule.name).await
    }

    /// Deletes an API rule with its history and deliveries.
    pub async fn delete_alert(&self, app: &str, name: &str) -> Result<Written, StoreError> {
        let done =
            sqlx::query("DELETE FROM alert_rules WHERE app = $1 AND name = $2 AND source = 'api'")
                .bind(app)
                .bind(name)
                .execute(&self.pool)
                .await?
                .rows_affected();
        self.written(done, app, name).await
    }

    /// Done, or why not: no such rule, or a config-file rule.
    async fn written(&self, done: u64, app: &str, name: &str) -> Result<Written, StoreError> {
        if done > 0 {
            return Ok(Written::Done);
        }
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM alert_rules WHERE app = $1 AND name = $2)",
        )
        .bind(app)
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        Ok(if exists {
            Written::FromConfig
        } else {
            Written::NotFound
        })
    }

    /// Snoozes a rule (any source) until `until`, or wakes it (None).
    pub async fn snooze_alert(
        &self,
        app: &str,
        name: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<Written, StoreError> {
        let done = sqlx::query(
            "UPDATE alert_rules SET snoozed_until = $3, updated_at = now() \
             WHERE app = $1 AND name = $2",
        )
        .bind(app)
        .bind(name)
        .bind(until)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(found(done))
    }

    /// Replaces a rule's status token (any source).
    pub async fn set_alert_status_token(
        &self,
        app: &str,
        name: &str,
        hash: &[u8],
    ) -> Result<Written, StoreError> {
        let done = sqlx::query(
            "UPDATE alert_rules SET status_token_hash = $3 WHERE app = $1 AND name = $2",
        )
        .bind(app)
        .bind(name)
        .bind(hash)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(found(done))
    }

    /// The rules of one app (or of every app), by name.
    pub async fn alert_rules(&self, app: Option<&str>) -> Result<Vec<RuleRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE $1::text IS NULL OR app = $1 \
             ORDER BY app, name"
        ))
        .bind(app)
        .fetch_all(&self.pool)
        .await?)
    }

    /// One rule.
    pub async fn alert_rule(&self, app: &str, name: &str) -> Result<Option<RuleRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE app = $1 AND name = $2"
        ))
        .bind(app)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The newest `per_rule` state changes of each of these rules, newest first.
    pub async fn alert_history(
        &self,
        rule_ids: &[i64],
        per_rule: i64,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT h.rule_id, h.at, h.from_state, h.to_state, h.value \
             FROM unnest($1::int8[]) AS r(id), LATERAL (SELECT * FROM alert_history \
               WHERE rule_id = r.id ORDER BY at DESC, id DESC LIMIT $2) h \
             ORDER BY h.rule_id, h.at DESC, h.id DESC",
        )
        .bind(rule_ids)
        .bind(per_rule)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The newest `per_rule` notifications of each of these rules, newest first.
    pub async fn alert_deliveries(
        &self,
        rule_ids: &[i64],
        per_rule: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT d.rule_id, d.event, d.target, d.format, d.status, d.attempts, \
                    d.last_status, d.last_error, d.created_at, d.finished_at \
             FROM unnest($1::int8[]) AS r(id), LATERAL (SELECT * FROM alert_deliveries \
               WHERE rule_id = r.id ORDER BY id DESC LIMIT $2) d \
             ORDER BY d.rule_id, d.id DESC",
        )
        .bind(rule_ids)
        .bind(per_rule)
        .fetch_all(&self.pool)
        .await?)
    }
}
