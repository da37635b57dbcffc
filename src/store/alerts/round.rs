//! One evaluation round in Postgres: the advisory lock and the round claim that make it one
//! process's of many, the value of each kind of rule over its window, the state changes with
//! their queued notifications (one transaction each), and the delivery rows senders lease.

use crate::alerts::state::{State, Status, Step};
use crate::alerts::{AlertKind, Rule};
use crate::record::Kind;
use crate::store::filter::LogFilter;
use crate::store::read::micros_to_utc;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::{Postgres, QueryBuilder};
use std::time::Duration;

/// Advisory-lock key of the alert round ("logdrain" + 1; maintenance uses "logdrain").
pub const ALERT_LOCK_KEY: i64 = 0x6c6f_6764_7261_696f;

/// A claimed round: holds the session advisory lock until [`Store::end_alert_round`].
pub struct Round {
    conn: PoolConnection<Postgres>,
}

/// A notification to queue with a state change.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// firing, resolved or reminder.
    pub event: &'static str,
    /// The whole URL.
    pub url: String,
    /// Its shown form.
    pub target: String,
    /// Body format name.
    pub format: &'static str,
    /// The body.
    pub payload: Value,
}

/// One rule's step, to write.
#[derive(Debug, Clone)]
pub struct StepWrite<'a> {
    /// alert_rules.id.
    pub rule_id: i64,
    /// The status the round read (the row is written only if it is still in that state).
    pub from: Status,
    /// The step taken.
    pub step: Step,
    /// The value observed.
    pub value: Option<f64>,
    /// The round's time.
    pub now_us: i64,
    /// The notifications to queue.
    pub deliveries: &'a [NewDelivery],
}

/// A delivery leased for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    /// alert_deliveries.id.
    pub id: i64,
    /// The whole URL.
    pub url: String,
    /// Its shown form, for logs.
    pub target: String,
    /// The body.
    pub payload: sqlx::types::Json<Value>,
    /// Attempts before this lease.
    pub attempts: i32,
}

/// The outcome of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// 2xx.
    Delivered,
    /// Failed; another attempt follows.
    Retry,
    /// Failed for good (attempts used up, or refused).
    Failed,
}

fn ts(us: i64) -> DateTime<Utc> {
    micros_to_utc(us)
}

impl Store {
    /// Claims the round at `now_us` for this process: `None` when another process holds the
    /// round lock or ran a round less than `min_gap` ago.
    pub async fn begin_alert_round(
        &self,
        now_us: i64,
        min_gap: Duration,
    ) -> Result<Option<Round>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(ALERT_LOCK_KEY)
            .fetch_one(&mut *conn)
            .await?;
        if !locked {
            return Ok(None);
        }
        let gap_us = i64::try_from(min_gap.as_micros()).unwrap_or(i64::MAX / 2);
        let claimed = sqlx::query(
            "UPDATE alert_rounds SET last_run_at = $1 \
             WHERE id = 1 AND (last_run_at IS NULL OR last_run_at <= $2)",
        )
        .bind(ts(now_us))
        .bind(ts(now_us - gap_us))
        .execute(&mut *conn)
        .await;
        let round = Round { conn };
        match claimed {
            Ok(r) if r.rows_affected() == 1 => Ok(Some(round)),
            Ok(_) => {
                self.end_alert_round(round).await;
                Ok(None)
            }
            Err(e) => {
                self.end_alert_round(round).await;
                Err(e.into())
            }
        }
    }

    /// Releases the round lock (the connection is dropped if that fails: the lock goes with
    /// its session).
    pub async fn end_alert_round(&self, mut round: Round) {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(ALERT_LOCK_KEY)
            .execute(&mut *round.conn)
            .await;
        if unlocked.is_err() {
            round.conn.detach();
        }
    }

    /// The ids of these apps (absent: the app has not sent a line yet).
    pub async fn app_ids(&self, names: &[String]) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT name, id FROM apps WHERE name = ANY($1)")
                .bind(names)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// A rule's value over its window ending at `until_us`: lines (count), a share (rate;
    /// None below `min_volume` router lines), p95 service_ms (latency; None without
    /// requests), lines up to the threshold (absence: no need to count further), or lost
    /// messages (loss). `filter` is the rule's parsed filter.
    pub async fn alert_value(
        &self,
        app_id: i64,
        rule: &Rule,
        filter: &LogFilter,
        until_us: i64,
    ) -> Result<Option<f64>, StoreError> {
        let since_us = until_us - i64::try_from(rule.window.as_micros()).unwrap_or(i64::MAX / 2);
        let (kind, min_volume, cap) = (rule.kind, rule.min_volume, rule.threshold.ceil() as i64);
        let mut q = filter.clone();
        q.since_us = Some(since_us);
        q.until_us = Some(until_us);
        let router = |mut q: LogFilter| {
            q.kinds = vec![Kind::Router];
            q
        };
        let mut qb = QueryBuilder::<Postgres>::new("");
        match kind {
            AlertKind::Count => {
                qb.push("SELECT count(*)::float8 FROM lines");
                crate::store::read::push_filters(&mut qb, app_id, &q);
            }
            AlertKind::Absence => {
                qb.push("SELECT count(*)::float8 FROM (SELECT 1 FROM lines");
                crate::store::read::push_filters(&mut qb, app_id, &q);
                qb.push(" LIMIT ").push_bind(cap.max(1)).push(") s");
            }
            AlertKind::Rate => {
                let all = LogFilter {
                    since_us: q.since_us,
                    until_us: q.until_us,
                    ..LogFilter::default()
                };
                qb.push("SELECT CASE WHEN t.n >= GREATEST(")
                    .push_bind(min_volume)
                    .push(", 1) THEN m.n::float8 / t.n END FROM (SELECT count(*) AS n FROM lines");
                crate::store::read::push_filters(&mut qb, app_id, &router(q));
                qb.push(") m, (SELECT count(*) AS n FROM lines");
                crate::store::read::push_filters(&mut qb, app_id, &router(all));
                qb.push(") t");
            }
            AlertKind::Latency => {
                qb.push(
                    "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY service_ms) FROM lines",
                );
                crate::store::read::push_filters(&mut qb, app_id, &router(q));
                qb.push(" AND service_ms IS NOT NULL");
            }
            AlertKind::Loss => {
                qb.push(
                    "SELECT (COALESCE(sum(count) FILTER (WHERE event = 'dropped'), 0) \
                     + count(*) FILTER (WHERE event = 'msg_count_mismatch'))::float8 \
                     FROM loss_events WHERE app_id = ",
                )
                .push_bind(app_id)
                .push(" AND at >= ")
                .push_bind(ts(since_us))
                .push(" AND at < ")
                .push_bind(ts(until_us));
            }
        }
        self.read(move |c| {
            Box::pin(async move { qb.build_query_scalar::<Option<f64>>().fetch_one(c).await })
        })
        .await
    }

    /// Stores the values of rules whose state did not change, in one statement.
    pub async fn record_alert_values(
        &self,
        round: &mut Round,
        values: &[(i64, Option<f64>)],
        now_us: i64,
    ) -> Result<(), StoreError> {
        let (ids, vals): (Vec<i64>, Vec<Option<f64>>) = values.iter().copied().unzip();
        sqlx::query(
            "UPDATE alert_rules r SET value = v.value, evaluated_at = $3 \
             FROM unnest($1::int8[], $2::float8[]) AS v(id, value) WHERE r.id = v.id",
        )
        .bind(ids)
        .bind(vals)
        .bind(ts(now_us))
        .execute(&mut *round.conn)
        .await?;
        Ok(())
    }

    /// Writes a rule's step in one transaction: its new status (if the row is still in
    /// `w.from`'s state), a history row when the state changed, and the notifications.
    /// Returns false when the row had moved on (nothing written).
    pub async fn record_alert_step(
        &self,
        round: &mut Round,
        w: &StepWrite<'_>,
    ) -> Result<bool, StoreError> {
        let (rule_id, from, step, value, now_us) = (w.rule_id, &w.from, &w.step, w.value, w.now_us);
        let mut tx = sqlx::Connection::begin(&mut *round.conn).await?;
        let next = &step.next;
        let updated = sqlx::query(
            "UPDATE alert_rules SET state = $2, state_since = $3, notified_state = $4, \
             notified_at = $5, value = $6, evaluated_at = $7 WHERE id = $1 AND state = $8",
        )
        .bind(rule_id)
        .bind(next.state.as_str())
        .bind(ts(next.since_us))
        .bind(next.notified.map(State::as_str))
        .bind(next.notified_at_us.map(ts))
        .bind(value)
        .bind(ts(now_us))
        .bind(from.state.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        if next.state != from.state {
            sqlx::query(
                "INSERT INTO alert_history (rule_id, at, from_state, to_state, value) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(rule_id)
            .bind(ts(now_us))
            .bind(from.state.as_str())
            .bind(next.state.as_str())
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        for d in w.deliveries {
            sqlx::query(
                "INSERT INTO alert_deliveries (rule_id, event, url, target, format, payload) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(rule_id)
            .bind(d.event)
            .bind(&d.url)
            .bind(&d.target)
            .bind(d.format)
            .bind(sqlx::types::Json(&d.payload))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Leases up to `limit` pending deliveries whose lease is free (never sent, or their
    /// sender died) for `lease`, oldest first. Rows another process is leasing right now are
    /// skipped, so each is sent by one sender at a time.
    pub async fn lease_alert_deliveries(
        &self,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        Ok(sqlx::query_as(
            "UPDATE alert_deliveries d SET lease_until = now() + $1 \
             FROM (SELECT id FROM alert_deliveries WHERE status = 'pending' \
                     AND (lease_until IS NULL OR lease_until < now()) \
                   ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) c \
             WHERE d.id = c.id RETURNING d.id, d.url, d.target, d.payload, d.attempts",
        )
        .bind(lease)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records one attempt of a delivery.
    pub async fn record_alert_attempt(
        &self,
        id: i64,
        outcome: DeliveryOutcome,
        http_status: Option<u16>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let status = match outcome {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retry => "pending",
            DeliveryOutcome::Failed => "failed",
        };
        sqlx::query(
            "UPDATE alert_deliveries SET attempts = attempts + 1, status = $2, last_status = $3, \
             last_error = $4, finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(http_status.map(i32::from))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
