//! The query API's aggregates, computed in Postgres: request stats with exact percentiles,
//! error codes, runtime metrics per dyno, loss and rule counts. Each is one statement in a
//! `Store::read` transaction, bounded by `LOGDRAIN_QUERY_TIMEOUT`.

use super::micros_to_utc;
use super::pieces::{parts_or_empty, Binds};
use crate::store::filter::TimeRange;
use crate::store::rollup::{self, Dim, Pieces};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// The pieces `[since, until)` is read in: whole buckets up to `max_span_secs` from the
    /// rollups (when rollup reads are on), the rest from `lines`.
    fn pieces(&self, range: TimeRange, max_span_secs: i32) -> Pieces {
        let max = if self.rollup_reads { max_span_secs } else { 0 };
        rollup::split(range.since_us, range.until_us, max)
    }

    /// `/stats/requests`: router lines in the range grouped by `by`.
    pub async fn request_stats(
        &self,
        app_id: i64,
        range: TimeRange,
        by: GroupBy,
        limit: i64,
    ) -> Result<Vec<RequestStats>, StoreError> {
        let order = match by {
            GroupBy::Minute | GroupBy::Hour => "key",
            _ => "count DESC, key",
        };
        let max_span = match by {
            GroupBy::Minute => 60,
            GroupBy::Hour => 3_600,
            _ => i32::MAX,
        };
        let pieces = self.pieces(range, max_span);
        let mut binds = Binds::new(2);
        // (key, service_ms, lines, errors, bytes) from each piece: line groups as the lines
        // give them, and each rollup row's histogram plus one row carrying its errors and bytes.
        let mut parts: Vec<String> = pieces
            .lines
            .iter()
            .map(|&(a, b)| {
                format!(
                    "SELECT {} AS key, service_ms AS ms, count(*) AS c, \
                            count(*) FILTER (WHERE status >= 500) AS e, sum(bytes) AS b \
                     FROM lines WHERE app_id = $1 AND kind = 'router' AND {} \
                     GROUP BY 1, 2",
                    by.sql(),
                    binds.range("ts", a, b)
                )
            })
            .collect();
        if !pieces.rollups.is_empty() {
            parts.push(format!(
                "SELECT {} AS key, x.ms, x.c, x.e, x.b FROM request_rollups r \
                 CROSS JOIN LATERAL ( \
                   SELECT u.ms, u.c, 0::int8 AS e, NULL::numeric AS b \
                   FROM unnest(r.ms, r.ms_count) AS u(ms, c) \
                   UNION ALL SELECT NULL::int4, 0::int8, r.errors, r.bytes::numeric \
                 ) x \
                 WHERE r.app_id = $1 AND r.dim = '{}' AND ({})",
                by.rollup_key(),
                by.dim().as_str(),
                binds.spans(&pieces.rollups)
            ));
        }
        // Exact percentile_cont from a histogram: group by (key, service_ms) (service_ms is
        // whole milliseconds, so a day has few distinct values per key, and the rollups keep
        // exactly these counts), then read the values at the percentile positions off the
        // running counts. One small sort per key instead of sorting every row.
        let pct = |p: &str, name: &str| {
            format!(
                "min(ms) FILTER (WHERE upto > floor({p} * (n - 1))) AS {name}_lo, \
                 min(ms) FILTER (WHERE upto > ceil({p} * (n - 1))) AS {name}_hi"
            )
        };
        let interp = |p: &str, name: &str| {
            format!(
                "({name}_lo + ({p} * (n - 1) - floor({p} * (n - 1))) * ({name}_hi - {name}_lo))::float8 AS {name}_ms"
            )
        };
        let sql = format!(
            "WITH r AS ( \
               SELECT key, ms, sum(c)::int8 AS c, sum(e)::int8 AS e, sum(b) AS b \
               FROM ({}) p GROUP BY 1, 2 \
             ), g AS ( \
               SELECT key, ms, c, e, b, \
                      sum(c) OVER (PARTITION BY key ORDER BY ms ROWS UNBOUNDED PRECEDING) AS upto, \
                      sum(c) FILTER (WHERE ms IS NOT NULL) OVER (PARTITION BY key) AS n \
               FROM r \
             ), s AS ( \
               SELECT key, sum(c)::int8 AS count, sum(e)::int8 AS errors, max(ms) AS max_ms, \
                      COALESCE(sum(b), 0)::int8 AS bytes, max(n) AS n, {}, {}, {} \
               FROM g GROUP BY key \
             ) \
             SELECT key, count, errors, {}, {}, {}, max_ms, bytes FROM s \
             ORDER BY {order} LIMIT $2",
            parts_or_empty(&parts, "SELECT NULL::text AS key, NULL::int4 AS ms, 0::int8 AS c, 0::int8 AS e, NULL::numeric AS b WHERE false"),
            pct("0.5", "p50"),
            pct("0.95", "p95"),
            pct("0.99", "p99"),
            interp("0.5", "p50"),
            interp("0.95", "p95"),
            interp("0.99", "p99"),
        );
        self.read(move |c| {
            Box::pin(async move {
                binds
                    .apply(sqlx::query_as(&sql).bind(app_id).bind(limit))
                    .fetch_all(c)
                    .await
            })
        })
        .await
    }

    /// `/stats/errors`: H, R and L codes seen in the range.
    pub async fn error_stats(
        &self,
        app_id: i64,
        range: TimeRange,
    ) -> Result<Vec<ErrorStats>, StoreError> {
        let pieces = self.pieces(range, i32::MAX);
        let mut binds = Binds::new(1);
        let mut parts: Vec<String> = pieces
            .lines
            .iter()
            .map(|&(a, b)| {
                format!(
                    "SELECT code, max(fields->>'desc') AS desc, count(*) AS count, \
                            min(ts) AS first_seen, max(ts) AS last_seen \
                     FROM lines WHERE app_id = $1 AND code IS NOT NULL AND {} GROUP BY code",
                    binds.range("ts", a, b)
                )
            })
            .collect();
        if !pieces.rollups.is_empty() {
            parts.push(format!(
                "SELECT code, \"desc\", count, first_seen, last_seen FROM code_rollups \
                 WHERE app_id = $1 AND ({})",
                binds.spans(&pieces.rollups)
            ));
        }
        let sql = format!(
            "SELECT code, max(\"desc\") AS desc, sum(count)::int8 AS count, \
                    min(first_seen) AS first_seen, max(last_seen) AS last_seen \
             FROM ({}) p GROUP BY code ORDER BY sum(count) DESC, code",
            parts_or_empty(
                &parts,
                "SELECT NULL::text AS code, NULL::text AS desc, 0::int8 AS count, \
                NULL::timestamptz AS first_seen, NULL::timestamptz AS last_seen WHERE false"
            )
        );
        self.read(move |c| {
            Box::pin(async move {
                binds
                    .apply(sqlx::query_as(&sql).bind(app_id))
                    .fetch_all(c)
                    .await
            })
        })
        .await
    }

    /// `/metrics`: runtime-metric samples per dyno, averaged per bucket: the exact mean of the
    /// samples (numeric sums), rounded once to float8.
    pub async fn dyno_metrics(
        &self,
        app_id: i64,
        range: TimeRange,
        bucket_secs: i64,
    ) -> Result<Vec<MetricsRow>, StoreError> {
        // Rollup buckets lie inside one output bucket when the output width is a multiple of
        // theirs and their grid (from the Unix epoch) is also on the output grid (from
        // 2000-01-01): true up to a day, not for 4 days.
        let max_span = rollup::SPANS_SECS
            .into_iter()
            .filter(|s| {
                bucket_secs % i64::from(*s) == 0 && METRICS_ORIGIN_SECS % i64::from(*s) == 0
            })
            .max()
            .unwrap_or(0);
        let pieces = self.pieces(range, max_span);
        let mut binds = Binds::new(2);
        let bin = |col: &str| {
            format!("date_bin(make_interval(secs => $2), {col}, TIMESTAMPTZ '2000-01-01')")
        };
        let number = |k: &str| {
            format!(
                "CASE WHEN jsonb_typeof(fields -> '{k}') = 'number' THEN (fields->>'{k}')::numeric END"
            )
        };
        let line_cols: Vec<String> = METRIC_KEYS
            .iter()
            .map(|k| format!("count({0}) AS n_{k}, sum({0}) AS s_{k}", number(k)))
            .collect();
        let rollup_cols: Vec<String> = METRIC_KEYS
            .iter()
            .enumerate()
            .map(|(i, k)| format!("samples[{0}] AS n_{k}, sums[{0}] AS s_{k}", i + 1))
            .collect();
        let means: Vec<String> = METRIC_KEYS
            .iter()
            .map(|k| format!("(sum(s_{k}) / NULLIF(sum(n_{k}), 0))::float8 AS {k}"))
            .collect();
        let mut parts: Vec<String> = pieces
            .lines
            .iter()
            .map(|&(a, b)| {
                format!(
                    "SELECT dyno, {} AS ts, {} FROM lines \
                     WHERE app_id = $1 AND kind = 'runtime_metric' AND {} GROUP BY 1, 2",
                    bin("ts"),
                    line_cols.join(", "),
                    binds.range("ts", a, b)
                )
            })
            .collect();
        if !pieces.rollups.is_empty() {
            parts.push(format!(
                "SELECT dyno, {} AS ts, {} FROM metric_rollups WHERE app_id = $1 AND ({})",
                bin("bucket"),
                rollup_cols.join(", "),
                binds.spans(&pieces.rollups)
            ));
        }
        let empty_cols: Vec<String> = METRIC_KEYS
            .iter()
            .map(|k| format!("0::int8 AS n_{k}, 0::numeric AS s_{k}"))
            .collect();
        let empty = format!(
            "SELECT ''::text COLLATE \"C\" AS dyno, now() AS ts, {} WHERE false",
            empty_cols.join(", ")
        );
        let sql = format!(
            "SELECT dyno, ts, {} FROM ({}) p GROUP BY 1, 2 ORDER BY 1, 2",
            means.join(", "),
            parts_or_empty(&parts, &empty)
        );
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

    /// `/loss`: what Logplex reported lost, count mismatches and answered retries in the range.
    pub async fn loss(&self, app_id: i64, range: TimeRange) -> Result<(i64, i64, i64), StoreError> {
        self.read(move |c| {
            Box::pin(async move {
                sqlx::query_as(
                    "SELECT COALESCE(sum(count) FILTER (WHERE event = 'dropped'), 0)::int8, \
                    count(*) FILTER (WHERE event = 'msg_count_mismatch'), \
                    count(*) FILTER (WHERE event = 'duplicate_frame') \
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

/// The origin of `/metrics` buckets (2000-01-01 UTC), seconds since the Unix epoch.
const METRICS_ORIGIN_SECS: i64 = 946_684_800;

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

/// The runtime-metrics samples `/metrics` averages, in output order.
pub const METRIC_KEYS: &[&str] = &[
    "memory_total",
    "memory_rss",
    "memory_swap",
    "memory_cache",
    "memory_quota",
    "memory_pgpgin",
    "memory_pgpgout",
    "load_avg_1m",
    "load_avg_5m",
    "load_avg_15m",
];

/// One dyno's averages over one bucket.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MetricsRow {
    /// PROCID.
    pub dyno: String,
    /// Bucket start.
    pub ts: DateTime<Utc>,
    /// Averages, in [`METRIC_KEYS`] order.
    #[sqlx(flatten)]
    pub values: MetricValues,
}

/// The averaged samples of one bucket (absent samples are NULL).
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct MetricValues {
    pub memory_total: Option<f64>,
    pub memory_rss: Option<f64>,
    pub memory_swap: Option<f64>,
    pub memory_cache: Option<f64>,
    pub memory_quota: Option<f64>,
    pub memory_pgpgin: Option<f64>,
    pub memory_pgpgout: Option<f64>,
    pub load_avg_1m: Option<f64>,
    pub load_avg_5m: Option<f64>,
    pub load_avg_15m: Option<f64>,
}

impl MetricValues {
    /// `(name, value)` for every sample present.
    pub fn present(&self) -> Vec<(&'static str, f64)> {
        let all = [
            self.memory_total,
            self.memory_rss,
            self.memory_swap,
            self.memory_cache,
            self.memory_quota,
            self.memory_pgpgin,
            self.memory_pgpgout,
            self.load_avg_1m,
            self.load_avg_5m,
            self.load_avg_15m,
        ];
        METRIC_KEYS
            .iter()
            .zip(all)
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect()
    }
}

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

    /// The rollup rows this grouping reads.
    fn dim(self) -> Dim {
        match self {
            GroupBy::Path => Dim::Route,
            GroupBy::Status => Dim::Status,
            GroupBy::Dyno => Dim::Dyno,
            GroupBy::Method => Dim::Method,
            GroupBy::Host => Dim::Host,
            GroupBy::Minute | GroupBy::Hour => Dim::All,
        }
    }

    /// The group key of a rollup row, as text of the same collation as [`GroupBy::sql`]'s.
    fn rollup_key(self) -> &'static str {
        match self {
            GroupBy::Path => "r.key COLLATE \"C\"",
            GroupBy::Status | GroupBy::Dyno | GroupBy::Method | GroupBy::Host => "r.key",
            GroupBy::Minute => {
                "to_char(date_trunc('minute', r.bucket AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            }
            GroupBy::Hour => {
                "to_char(date_trunc('hour', r.bucket AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            }
        }
    }

    /// The SQL expression of the group key (as text).
    fn sql(self) -> &'static str {
        match self {
            GroupBy::Path => "route",
            GroupBy::Status => "status::text",
            GroupBy::Dyno => "router_dyno",
            GroupBy::Method => "method",
            GroupBy::Host => "host",
            GroupBy::Minute => {
                "to_char(date_trunc('minute', ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            }
            GroupBy::Hour => {
                "to_char(date_trunc('hour', ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            }
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
