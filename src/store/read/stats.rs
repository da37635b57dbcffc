//! The query API's aggregates, computed in Postgres: request stats with exact percentiles,
//! error codes, runtime metrics per dyno, loss and rule counts. Each is one statement in a
//! `Store::read` transaction, bounded by `LOGDRAIN_QUERY_TIMEOUT`.

use super::compact::both_tiers;
use super::micros_to_utc;
use crate::store::filter::{StatusRange, TimeRange};
use crate::store::read::pieces::Binds;
use crate::store::rollup::{self, Dim, Pieces};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

mod histogram;
mod lines_sql;
mod metric_sums;
mod pieces_sql;

use lines_sql::{histogram_sql, time_buckets_sql, ROUTER_COLUMNS, ROUTER_PRUNE};

impl Store {
    /// The pieces `[since, until)` is read in: whole buckets up to `max_span_secs` from the
    /// rollups (when rollup reads are on), the rest from the lines of both tiers.
    fn pieces(&self, range: TimeRange, max_span_secs: i32) -> Pieces {
        let max = if self.rollup_reads { max_span_secs } else { 0 };
        rollup::split(range.since_us, range.until_us, max)
    }

    /// `/stats/requests`: router lines in the range (with a status in `status`, when given)
    /// grouped by `by`.
    pub async fn request_stats(
        &self,
        app_id: i64,
        range: TimeRange,
        by: GroupBy,
        status: Option<StatusRange>,
        limit: i64,
    ) -> Result<Vec<RequestStats>, StoreError> {
        // Rollups hold groups by one key, the status included: a grouping by key with a status
        // range (and the reference path without rollup reads) reads every line.
        match (by.dim(), status, by.bucket_secs()) {
            _ if !self.rollup_reads => {}
            (Some(dim), None, _) => {
                let pieces = self.pieces(range, i32::MAX);
                return self
                    .read(move |c| {
                        Box::pin(async move {
                            // Below the horizon the minute rows of some groupings may be gone:
                            // those edges come from the lines (migration 0017). The horizon
                            // is read in the same transaction.
                            let pieces = if rollup::AGED_DIMS.contains(&dim) {
                                match rollup::keyed_minutes_from(&mut *c).await? {
                                    Some(h) => pieces.minutes_from_lines_below(h),
                                    None => pieces,
                                }
                            } else {
                                pieces
                            };
                            let (sql, binds) = pieces_sql::requests(by, dim, &pieces);
                            binds
                                .apply(sqlx::query_as(&sql).bind(app_id).bind(limit))
                                .fetch_all(c)
                                .await
                        })
                    })
                    .await;
            }
            (None, status, Some(width)) => {
                let pieces = self.pieces(range, width);
                let (sql, binds) = pieces_sql::time_buckets(by, status, &pieces);
                return self.time_bucket_stats(sql, binds, app_id, limit).await;
            }
            _ => {}
        }
        let key = by.sql();
        let out = by.output();
        // Two parsed integers, written into the SQL: no text of the caller's reaches it.
        let status = status.map_or(String::new(), |s| {
            format!(" AND status BETWEEN {} AND {}", s.from, s.to)
        });
        let sql = match by {
            GroupBy::Minute | GroupBy::Hour => time_buckets_sql(key, out, &status),
            _ => histogram_sql(key, out, &status),
        };
        self.read(move |c| {
            Box::pin(async move {
                sqlx::query_as(&sql)
                    .bind(app_id)
                    .bind(micros_to_utc(range.since_us))
                    .bind(micros_to_utc(range.until_us))
                    .bind(limit)
                    .fetch_all(c)
                    .await
            })
        })
        .await
    }

    /// Runs [`pieces_sql::time_buckets`] and adds its histograms up per time bucket.
    async fn time_bucket_stats(
        &self,
        sql: String,
        binds: Binds,
        app_id: i64,
        limit: i64,
    ) -> Result<Vec<RequestStats>, StoreError> {
        type Piece = (
            DateTime<Utc>,
            i64,
            i64,
            i64,
            Vec<Option<i32>>,
            Option<Vec<i64>>,
        );
        let rows: Vec<Piece> = self
            .read(move |c| {
                Box::pin(async move {
                    binds
                        .apply(sqlx::query_as(&sql).bind(app_id))
                        .fetch_all(c)
                        .await
                })
            })
            .await?;
        let mut buckets: BTreeMap<DateTime<Utc>, histogram::Bucket> = BTreeMap::new();
        for (key, count, errors, bytes, ms, ms_count) in rows {
            buckets
                .entry(key)
                .or_default()
                .add(count, errors, bytes, &ms, ms_count.as_deref());
        }
        Ok(histogram::finish(buckets, limit))
    }

    /// `/stats/errors`: H, R and L codes seen in the range.
    pub async fn error_stats(
        &self,
        app_id: i64,
        range: TimeRange,
    ) -> Result<Vec<ErrorStats>, StoreError> {
        if self.rollup_reads {
            let (sql, binds) = pieces_sql::errors(&self.pieces(range, i32::MAX));
            return self
                .read(move |c| {
                    Box::pin(async move {
                        binds
                            .apply(sqlx::query_as(&sql).bind(app_id))
                            .fetch_all(c)
                            .await
                    })
                })
                .await;
        }
        self.read(move |c| {
            Box::pin(async move {
                sqlx::query_as(&format!(
                    "SELECT code, max(fields->>'desc') AS desc, count(*) AS count, \
                    min(ts) AS first_seen, max(ts) AS last_seen \
             FROM {} WHERE app_id = $1 AND code IS NOT NULL AND ts >= $2 AND ts < $3 \
             GROUP BY code ORDER BY count(*) DESC, code",
                    both_tiers(&["ts", "code", "fields"], CODE_PRUNE)
                ))
                .bind(app_id)
                .bind(micros_to_utc(range.since_us))
                .bind(micros_to_utc(range.until_us))
                .fetch_all(c)
                .await
            })
        })
        .await
    }

    /// `/stats/errors?bucket=…`: how often each code was seen per bucket of `bucket_secs`,
    /// oldest bucket first: whole rollup buckets that lie inside one output bucket from
    /// `code_rollups`, the rest from the lines of both tiers.
    pub async fn error_series(
        &self,
        app_id: i64,
        range: TimeRange,
        bucket_secs: i64,
    ) -> Result<Vec<CodeBucket>, StoreError> {
        let (sql, binds) = pieces_sql::error_series(&self.pieces(range, nested_span(bucket_secs)));
        self.read(move |c| {
            Box::pin(async move {
                binds
                    .apply(sqlx::query_as(&sql).bind(app_id).bind(bucket_secs as f64))
                    .fetch_all(c)
                    .await
            })
        })
        .await
    }

    /// `/metrics`: runtime-metric samples per dyno, averaged per bucket: the exact sum of the
    /// samples (numeric sums, so the order rows and chunks arrive in does not matter), rounded
    /// once to float8 and divided by their count (`metric_sums`); a sample that is not a JSON
    /// number is skipped.
    pub async fn dyno_metrics(
        &self,
        app_id: i64,
        range: TimeRange,
        bucket_secs: i64,
    ) -> Result<Vec<MetricsRow>, StoreError> {
        let (sql, binds) = pieces_sql::metrics(&self.pieces(range, nested_span(bucket_secs)));
        self.read(move |c| {
            Box::pin(async move {
                // A week of minutes sorts 40,000 rows of 20 sums: in memory, not in temporary
                // files (for this transaction only).
                sqlx::query("SET LOCAL work_mem = '64MB'")
                    .execute(&mut *c)
                    .await?;
                let pieces: Vec<metric_sums::Piece> = binds
                    .apply(sqlx::query_as(&sql).bind(app_id).bind(bucket_secs as f64))
                    .fetch_all(c)
                    .await?;
                Ok(metric_sums::fold(pieces))
            })
        })
        .await
    }

    /// `/loss`: what Logplex reported lost, count mismatches, answered retries and overrunning
    /// last frames in the range.
    pub async fn loss(
        &self,
        app_id: i64,
        range: TimeRange,
    ) -> Result<(i64, i64, i64, i64), StoreError> {
        self.read(move |c| {
            Box::pin(async move {
                sqlx::query_as(
                    "SELECT COALESCE(sum(count) FILTER (WHERE event = 'dropped'), 0)::int8, \
                    count(*) FILTER (WHERE event = 'msg_count_mismatch'), \
                    count(*) FILTER (WHERE event = 'duplicate_frame'), \
                    COALESCE(sum(count) FILTER (WHERE event = 'frame_length_mismatch'), 0)::int8 \
             FROM loss_events WHERE app_id = $1 AND at >= $2 AND at < $3",
                )
                .bind(app_id)
                .bind(micros_to_utc(range.since_us))
                .bind(micros_to_utc(range.until_us))
                .fetch_one(c)
                .await
            })
        })
        .await
    }
    /// What the ingest rules did in the range, per rule and action, largest counts first.
    pub async fn rule_events(
        &self,
        app_id: i64,
        range: TimeRange,
    ) -> Result<Vec<RuleTotal>, StoreError> {
        self.read(move |c| {
            Box::pin(async move {
                sqlx::query_as(
                    "SELECT rule, action, sum(count)::int8 AS count FROM rule_events \
             WHERE app_id = $1 AND at >= $2 AND at < $3 GROUP BY rule, action \
             ORDER BY 3 DESC, 1, 2",
                )
                .bind(app_id)
                .bind(micros_to_utc(range.since_us))
                .bind(micros_to_utc(range.until_us))
                .fetch_all(c)
                .await
            })
        })
        .await
    }
}

/// The origin of `/metrics` and `/stats/errors` buckets (2000-01-01 UTC), seconds since the
/// Unix epoch.
const BUCKET_ORIGIN_SECS: i64 = 946_684_800;

/// The coarsest rollup span whose buckets each lie inside one output bucket of `bucket_secs`:
/// the output width is a multiple of theirs and their grid (from the Unix epoch) is also on
/// the output grid (from 2000-01-01). True up to a day, never for 4 days; 0 when none is.
fn nested_span(bucket_secs: i64) -> i32 {
    rollup::SPANS_SECS
        .into_iter()
        .filter(|s| bucket_secs % i64::from(*s) == 0 && BUCKET_ORIGIN_SECS % i64::from(*s) == 0)
        .max()
        .unwrap_or(0)
}

/// The chunks of the compact tier that may hold lines with a code.
const CODE_PRUNE: &str = "AND c.codes <> '{}'";

/// One rule's total over a time range, as `/loss` lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RuleTotal {
    /// The rule's name.
    pub rule: String,
    /// `dropped`, `sampled_out` or `redacted` (`rules::RuleAction::as_str`).
    pub action: String,
    /// Lines removed, or values replaced.
    pub count: i64,
}

/// The runtime-metrics samples `/metrics` averages, in output order (kept beside the rollups
/// that sum them).
pub use crate::store::rollup::METRIC_KEYS;
pub use metric_sums::{MetricValues, MetricsRow};

/// How `/stats/requests` groups router lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Normalised path: no query string, id-like segments as `:id`.
    Path,
    /// HTTP status.
    Status,
    /// Serving dyno.
    Dyno,
    /// HTTP method.
    Method,
    /// Host header.
    Host,
    /// Minute buckets.
    Minute,
    /// Hour buckets.
    Hour,
}

impl GroupBy {
    /// Parses `by`.
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "path" => GroupBy::Path,
            "status" => GroupBy::Status,
            "dyno" => GroupBy::Dyno,
            "method" => GroupBy::Method,
            "host" => GroupBy::Host,
            "minute" => GroupBy::Minute,
            "hour" => GroupBy::Hour,
            _ => return None,
        })
    }

    /// The rollup rows this grouping by key reads; none for time buckets (they read `all`, or
    /// `status` under a status range).
    fn dim(self) -> Option<Dim> {
        Some(match self {
            GroupBy::Path => Dim::Route,
            GroupBy::Status => Dim::Status,
            GroupBy::Dyno => Dim::Dyno,
            GroupBy::Method => Dim::Method,
            GroupBy::Host => Dim::Host,
            GroupBy::Minute | GroupBy::Hour => return None,
        })
    }

    /// The width of a time bucket in seconds; none for a grouping by key.
    fn bucket_secs(self) -> Option<i32> {
        match self {
            GroupBy::Minute => Some(60),
            GroupBy::Hour => Some(3600),
            _ => None,
        }
    }

    /// The time bucket of the timestamp `col` (see [`GroupBy::sql`]).
    fn time_bin(self, col: &str) -> String {
        let width = if self == GroupBy::Hour {
            "hour"
        } else {
            "minute"
        };
        format!("date_bin('1 {width}', {col}, TIMESTAMPTZ '2000-01-01')")
    }

    /// The group key of a rollup row, as text of the same collation as [`GroupBy::sql`]'s.
    fn rollup_key(self) -> &'static str {
        match self {
            GroupBy::Path => "r.key COLLATE \"C\"",
            _ => "r.key",
        }
    }

    /// The SQL expression rows are grouped by.
    fn sql(self) -> &'static str {
        match self {
            GroupBy::Path => "route",
            GroupBy::Status => "status::text",
            GroupBy::Dyno => "router_dyno",
            GroupBy::Method => "method",
            GroupBy::Host => "host",
            // Grouped by timestamp and written as text once per group (to_char on every row
            // made a day of minutes ten times slower than a day of paths).
            GroupBy::Minute => "date_bin('1 minute', ts, TIMESTAMPTZ '2000-01-01')",
            GroupBy::Hour => "date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01')",
        }
    }

    /// The group key as the API writes it, from the grouped `key`.
    fn output(self) -> &'static str {
        match self {
            GroupBy::Minute | GroupBy::Hour => {
                "to_char(key AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            }
            _ => "key",
        }
    }
}

/// One group of `/stats/requests`.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct RequestStats {
    pub key: Option<String>,
    pub count: i64,
    pub errors: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<i32>,
    pub bytes: i64,
}

/// How often one code was seen in one bucket.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct CodeBucket {
    pub ts: DateTime<Utc>,
    pub code: String,
    pub count: i64,
}

/// One code of `/stats/errors`.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct ErrorStats {
    pub code: String,
    pub desc: Option<String>,
    pub count: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}
