//! The query API's reads, computed in Postgres: filtered line pages, request timelines, and
//! the aggregates (request stats, error codes, runtime metrics, loss). Handlers format rows;
//! nothing here pulls more rows into Rust than it returns.

use super::{Store, StoreError};
use crate::api::params::{Cursor, LogQuery, Range};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};

/// The API's `fields` object: the typed columns merged back into the `fields` jsonb.
const FIELDS_SQL: &str = "COALESCE(fields, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(\
     'status', status, 'service_ms', service_ms, 'connect_ms', connect_ms, 'bytes', bytes, \
     'method', method, 'path', path, 'host', host, 'dyno', router_dyno, \
     'request_id', request_id, 'code', code))";

/// One stored line as the API returns it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    /// Row id (stable, increasing in commit order within a process).
    pub id: i64,
    /// The line's own timestamp.
    pub ts: DateTime<Utc>,
    /// When the request that carried it arrived.
    pub received_at: DateTime<Utc>,
    /// APP-NAME.
    pub source: String,
    /// PROCID.
    pub dyno: String,
    /// Kind name.
    pub kind: String,
    /// Syslog severity number of the inferred level.
    pub level: i16,
    /// Searchable text.
    pub message: String,
    /// API-shaped fields.
    pub fields: sqlx::types::Json<Value>,
    /// Drain-URL tags.
    pub tags: Option<sqlx::types::Json<Value>>,
    /// The line goes on in the next row of the same dyno and timestamp (a split line whose
    /// chunks came in different requests).
    pub continued: bool,
}

/// An app visible to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppRef {
    /// apps.id.
    pub id: i64,
}

/// Microseconds since the epoch as a timestamp.
pub fn micros_to_utc(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Escapes `%`, `_` and `\` for LIKE/ILIKE.
fn like_escape(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends `WHERE app_id = … AND <every filter of q>` (the cursor included).
fn push_filters(qb: &mut QueryBuilder<'_, Postgres>, app_id: i64, q: &LogQuery) {
    qb.push(" WHERE app_id = ").push_bind(app_id);
    if let Some(source) = &q.source {
        qb.push(" AND source = ").push_bind(source.clone());
    }
    if let Some(dyno) = &q.dyno {
        qb.push(" AND dyno = ").push_bind(dyno.clone());
    }
    if let Some(t) = &q.process_type {
        // dyno is COLLATE "C": 'web.' <= d < 'web/' is exactly the names starting with 'web.'.
        qb.push(" AND (dyno = ")
            .push_bind(t.clone())
            .push(" OR (dyno >= ")
            .push_bind(format!("{t}."))
            .push(" AND dyno < ")
            .push_bind(format!("{t}/"))
            .push("))");
    }
    if !q.kinds.is_empty() {
        let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        qb.push(" AND kind = ANY(").push_bind(kinds).push(")");
    }
    if let Some(level) = q.level {
        qb.push(" AND level <= ").push_bind(level.severity());
    }
    for term in &q.terms {
        qb.push(" AND message ILIKE ")
            .push_bind(format!("%{}%", like_escape(term)));
    }
    if let Some(id) = &q.request_id {
        qb.push(" AND request_id = ").push_bind(id.clone());
    }
    if let Some(s) = q.status {
        qb.push(" AND status BETWEEN ")
            .push_bind(s.from)
            .push(" AND ")
            .push_bind(s.to);
    }
    if let Some(code) = &q.code {
        qb.push(" AND code = ").push_bind(code.clone());
    }
    if let Some(path) = &q.path {
        qb.push(" AND starts_with(path, ")
            .push_bind(path.clone())
            .push(")");
    }
    if let Some(since) = q.since_us {
        qb.push(" AND ts >= ").push_bind(micros_to_utc(since));
    }
    if let Some(until) = q.until_us {
        qb.push(" AND ts < ").push_bind(micros_to_utc(until));
    }
    if let Some(Cursor { ts_us, id }) = q.cursor {
        qb.push(" AND (ts, id) < (")
            .push_bind(micros_to_utc(ts_us))
            .push(", ")
            .push_bind(id)
            .push(")");
    }
}

fn select_lines(qb: &mut QueryBuilder<'_, Postgres>) {
    qb.push(format!(
        "SELECT id, ts, received_at, source, dyno, kind, level, message, {FIELDS_SQL} AS fields, tags, \
         COALESCE(continued, false) AS continued FROM lines"
    ));
}

/// A page of lines: the newest `q.n` that match, newest first, and whether older ones exist.
pub struct Page {
    /// Newest first.
    pub lines: Vec<LineRow>,
    /// Where the next (older) page starts, when there is one.
    pub next: Option<Cursor>,
}

impl Store {
    /// The transaction one API read runs in: read-only, with `LOGDRAIN_QUERY_TIMEOUT` as its
    /// `statement_timeout`, set in the same round trip as `BEGIN`.
    pub(crate) async fn reader(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        let begin = match self.query_timeout {
            Some(t) => format!(
                "BEGIN READ ONLY; SET LOCAL statement_timeout = {}",
                t.as_millis().max(1)
            ),
            None => "BEGIN READ ONLY".to_owned(),
        };
        Ok(self.pool.begin_with(begin).await?)
    }

    /// What a failed API read is: a timeout when Postgres cancelled it for running past
    /// `statement_timeout` (SQLSTATE 57014), otherwise a database error.
    pub(crate) fn read_failed(&self, e: sqlx::Error) -> StoreError {
        match (&e, self.query_timeout) {
            (sqlx::Error::Database(db), Some(t)) if db.code().as_deref() == Some("57014") => {
                StoreError::QueryTimeout(t)
            }
            _ => e.into(),
        }
    }

    /// Looks an app up by name.
    pub async fn app_by_name(&self, name: &str) -> Result<Option<AppRef>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM apps WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.map(|id| AppRef { id }))
    }

    /// The app whose read-token hash this is.
    pub async fn app_by_read_token(
        &self,
        hash: &[u8],
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, name FROM apps WHERE read_token_hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The newest `q.n` lines matching `q` (newest first), with the cursor of the next page.
    pub async fn lines_page(&self, app_id: i64, q: &LogQuery) -> Result<Page, StoreError> {
        let mut tx = self.reader().await?;
        let mut qb = QueryBuilder::new("");
        select_lines(&mut qb);
        push_filters(&mut qb, app_id, q);
        qb.push(" ORDER BY ts DESC, id DESC LIMIT ")
            .push_bind(q.n + 1);
        let mut lines: Vec<LineRow> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.read_failed(e))?;
        tx.commit().await?;
        let more = lines.len() as i64 > q.n;
        lines.truncate(usize::try_from(q.n).unwrap_or(0));
        let next = match (more, lines.last()) {
            (true, Some(last)) => Some(Cursor {
                ts_us: last.ts.timestamp_micros(),
                id: last.id,
            }),
            _ => None,
        };
        Ok(Page { lines, next })
    }

    /// Matching lines with an id above `after_id` (and not in `exclude`) that arrived recently,
    /// oldest id first: what a tail has not printed yet. Bounded by `received_at` so the scan stays on new rows.
    pub async fn lines_after(
        &self,
        app_id: i64,
        q: &LogQuery,
        after_id: i64,
        exclude: &[i64],
        received_since_us: i64,
        limit: i64,
    ) -> Result<Vec<LineRow>, StoreError> {
        let mut tx = self.reader().await?;
        let mut qb = QueryBuilder::new("");
        select_lines(&mut qb);
        push_filters(&mut qb, app_id, q);
        if !exclude.is_empty() {
            qb.push(" AND NOT (id = ANY(")
                .push_bind(exclude.to_vec())
                .push("))");
        }
        qb.push(" AND id > ")
            .push_bind(after_id)
            .push(" AND received_at >= ")
            .push_bind(micros_to_utc(received_since_us))
            .push(" ORDER BY id LIMIT ")
            .push_bind(limit);
        let out = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.read_failed(e))?;
        tx.commit().await?;
        Ok(out)
    }

    /// The highest line id so far (0 when empty).
    pub async fn max_line_id(&self) -> Result<i64, StoreError> {
        let mut tx = self.reader().await?;
        let out = sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM lines")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.read_failed(e))?;
        tx.commit().await?;
        Ok(out)
    }

    /// `/stats/requests`: router lines in the range grouped by `by`.
    pub async fn request_stats(
        &self,
        app_id: i64,
        range: Range,
        by: GroupBy,
        limit: i64,
    ) -> Result<Vec<RequestStats>, StoreError> {
        let mut tx = self.reader().await?;
        let key = by.sql();
        let order = match by {
            GroupBy::Minute | GroupBy::Hour => "key",
            _ => "count DESC, key",
        };
        // Exact percentile_cont from a histogram: group by (key, service_ms) with a hash
        // aggregate (service_ms is whole milliseconds, so a day has few distinct values per
        // key), then read the values at the percentile positions off the running counts. One
        // small sort per key instead of sorting every row; an index-only scan of
        // lines_router_stats feeds it.
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
               SELECT {key} AS key, service_ms AS ms, count(*) AS c, \
                      count(*) FILTER (WHERE status >= 500) AS e, sum(bytes) AS b \
               FROM lines WHERE app_id = $1 AND kind = 'router' AND ts >= $2 AND ts < $3 \
               GROUP BY 1, 2 \
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
             ORDER BY {order} LIMIT $4",
            pct("0.5", "p50"),
            pct("0.95", "p95"),
            pct("0.99", "p99"),
            interp("0.5", "p50"),
            interp("0.95", "p95"),
            interp("0.99", "p99"),
        );
        let out = sqlx::query_as(&sql)
            .bind(app_id)
            .bind(micros_to_utc(range.since_us))
            .bind(micros_to_utc(range.until_us))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.read_failed(e))?;
        tx.commit().await?;
        Ok(out)
    }

    /// `/stats/errors`: H, R and L codes seen in the range.
    pub async fn error_stats(
        &self,
        app_id: i64,
        range: Range,
    ) -> Result<Vec<ErrorStats>, StoreError> {
        let mut tx = self.reader().await?;
        let out = sqlx::query_as(
            "SELECT code, max(fields->>'desc') AS desc, count(*) AS count, \
                    min(ts) AS first_seen, max(ts) AS last_seen \
             FROM lines WHERE app_id = $1 AND code IS NOT NULL AND ts >= $2 AND ts < $3 \
             GROUP BY code ORDER BY count(*) DESC, code",
        )
        .bind(app_id)
        .bind(micros_to_utc(range.since_us))
        .bind(micros_to_utc(range.until_us))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.read_failed(e))?;
        tx.commit().await?;
        Ok(out)
    }

    /// `/metrics`: runtime-metric samples per dyno, averaged per bucket.
    pub async fn dyno_metrics(
        &self,
        app_id: i64,
        range: Range,
        bucket_secs: i64,
    ) -> Result<Vec<MetricsRow>, StoreError> {
        let mut tx = self.reader().await?;
        let avg = |k: &str| format!("avg((fields->>'{k}')::float8) AS {k}");
        let cols: Vec<String> = METRIC_KEYS.iter().map(|k| avg(k)).collect();
        let sql = format!(
            "SELECT dyno, date_bin(make_interval(secs => $4), ts, TIMESTAMPTZ '2000-01-01') AS ts, {} \
             FROM lines WHERE app_id = $1 AND kind = 'runtime_metric' AND ts >= $2 AND ts < $3 \
             GROUP BY 1, 2 ORDER BY 1, 2",
            cols.join(", ")
        );
        let out = sqlx::query_as(&sql)
            .bind(app_id)
            .bind(micros_to_utc(range.since_us))
            .bind(micros_to_utc(range.until_us))
            .bind(bucket_secs as f64)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.read_failed(e))?;
        tx.commit().await?;
        Ok(out)
    }

    /// `/loss`: what Logplex reported lost, count mismatches and answered retries in the range.
    pub async fn loss(&self, app_id: i64, range: Range) -> Result<(i64, i64, i64), StoreError> {
        let mut tx = self.reader().await?;
        let out = sqlx::query_as(
            "SELECT COALESCE(sum(count) FILTER (WHERE event = 'dropped'), 0)::int8, \
                    count(*) FILTER (WHERE event = 'msg_count_mismatch'), \
                    count(*) FILTER (WHERE event = 'duplicate_frame') \
             FROM loss_events WHERE app_id = $1 AND at >= $2 AND at < $3",
        )
        .bind(app_id)
        .bind(micros_to_utc(range.since_us))
        .bind(micros_to_utc(range.until_us))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.read_failed(e))?;
        tx.commit().await?;
        Ok(out)
    }
}

impl Store {
    /// What the ingest rules did in the range: (rule, action, count), largest counts first.
    pub async fn rule_events(
        &self,
        app_id: i64,
        range: Range,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut tx = self.reader().await?;
        let out = sqlx::query_as(
            "SELECT rule, action, sum(count)::int8 FROM rule_events \
             WHERE app_id = $1 AND at >= $2 AND at < $3 GROUP BY rule, action \
             ORDER BY 3 DESC, 1, 2",
        )
        .bind(app_id)
        .bind(micros_to_utc(range.since_us))
        .bind(micros_to_utc(range.until_us))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.read_failed(e))?;
        tx.commit().await?;
        Ok(out)
    }
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
