//! The query API's reads, computed in Postgres: filtered line pages, request timelines and
//! tails here, the aggregates in `stats`. Handlers format rows; nothing here pulls more rows
//! into Rust than it returns. Every read runs in `Store::read`: a read-only transaction
//! bounded by `LOGDRAIN_QUERY_TIMEOUT`.

use super::filter::{Cursor, LogFilter};
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde_json::Value;
use sqlx::{PgConnection, Postgres, QueryBuilder};

mod compact;
mod context;
mod pieces;
mod stats;

pub use context::LineContext;

pub use stats::{
    CodeBucket, ErrorStats, GroupBy, MetricValues, MetricsRow, RequestStats, RuleTotal, METRIC_KEYS,
};

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
    /// OTLP trace id (hex), when the line came with one.
    pub trace_id: Option<String>,
    /// OTLP span id (hex), when the line came with one.
    pub span_id: Option<String>,
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
pub(super) fn like_escape(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends q='s test of one term on `column`: `column ILIKE '%term%'`, Postgres' own case
/// folding. Folding every line is the cost of a search that scans (three times that of the
/// scan itself), so a term with at least [`PREFILTER_MIN_FIXED`] characters that case does
/// not change is first tested with a plain `LIKE`, each ASCII letter a `_` wildcard (digits
/// and punctuation literal): every line the ILIKE matches also matches that pattern (folding
/// maps one character to one character, and no character folds to a digit, a space or a
/// punctuation mark but that character itself), and most others fail it without being
/// folded. Same lines, same answer, on both tiers.
pub(super) fn push_term(qb: &mut QueryBuilder<'_, Postgres>, column: &str, term: &str) {
    if let Some(pattern) = like_prefilter(term) {
        qb.push(format!("{column} LIKE "))
            .push_bind(pattern)
            .push(" AND ");
    }
    qb.push(format!("{column} ILIKE "))
        .push_bind(format!("%{}%", like_escape(term)));
}

/// Characters a term needs that case folding leaves alone before [`push_term`] adds the
/// LIKE: below this the pattern rejects too few lines to pay for itself.
const PREFILTER_MIN_FIXED: usize = 3;

/// The LIKE pattern [`push_term`] tests first, or `None` (a non-ASCII term, or too few
/// characters that are not letters).
fn like_prefilter(term: &str) -> Option<String> {
    let fixed = term.chars().filter(|c| !c.is_ascii_alphabetic()).count();
    if !term.is_ascii() || fixed < PREFILTER_MIN_FIXED {
        return None;
    }
    let mut out = String::with_capacity(term.len() + 4);
    out.push('%');
    for c in term.chars() {
        if c.is_ascii_alphabetic() {
            out.push('_');
        } else {
            if matches!(c, '%' | '_' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('%');
    Some(out)
}

/// Appends `WHERE app_id = … AND <every filter of q>` (the cursor included).
pub(super) fn push_filters(qb: &mut QueryBuilder<'_, Postgres>, app_id: i64, q: &LogFilter) {
    qb.push(" WHERE app_id = ").push_bind(app_id);
    if let Some(source) = &q.source {
        qb.push(" AND source = ").push_bind(source.clone());
    }
    if let Some(dyno) = &q.dyno {
        qb.push(" AND dyno = ").push_bind(dyno.clone());
    }
    if let Some(t) = &q.process_type {
        qb.push(" AND ");
        push_process_type(qb, "dyno", t);
    }
    if !q.kinds.is_empty() {
        let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        qb.push(" AND kind = ANY(").push_bind(kinds).push(")");
    }
    if let Some(level) = q.level {
        qb.push(" AND level <= ").push_bind(level.severity());
    }
    for term in &q.terms {
        qb.push(" AND ");
        push_term(qb, "message", term);
    }
    if let Some(id) = &q.request_id {
        qb.push(" AND request_id = ").push_bind(id.clone());
    }
    if let Some(id) = &q.trace_id {
        qb.push(" AND trace_id = ").push_bind(id.clone());
    }
    if let Some(id) = &q.request_or_trace_id {
        // Two partial indexes, OR-ed by a bitmap scan.
        qb.push(" AND (request_id = ")
            .push_bind(id.clone())
            .push(" OR trace_id = ")
            .push_bind(id.to_ascii_lowercase())
            .push(")");
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

/// `SELECT <the API's line columns> FROM <from>`: `from` is `lines` or a relation with the
/// same columns (the unnested compact tier).
/// The filters, exclusions and order of a tail read after `after_id`, shared by the hot rows
/// and the compact tier, so a tail answers the same over both.
pub(super) fn push_tail_filters(
    qb: &mut QueryBuilder<'_, Postgres>,
    app_id: i64,
    q: &LogFilter,
    exclude: &[i64],
    after_id: i64,
    received_since_us: i64,
    limit: i64,
) {
    push_filters(qb, app_id, q);
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
}

/// `column` names a dyno of process type `t` (`web` matches `web`, `web.1`, `web.2`, …). Dyno
/// columns are COLLATE "C", so 'web.' <= d < 'web/' is exactly the names starting with 'web.'.
pub(super) fn push_process_type(qb: &mut QueryBuilder<'_, Postgres>, column: &str, t: &str) {
    qb.push("(")
        .push(column)
        .push(" = ")
        .push_bind(t.to_owned())
        .push(" OR (")
        .push(column)
        .push(" >= ")
        .push_bind(format!("{t}."))
        .push(" AND ")
        .push(column)
        .push(" < ")
        .push_bind(format!("{t}/"))
        .push("))");
}

fn select_lines(qb: &mut QueryBuilder<'_, Postgres>, from: &str) {
    qb.push(format!(
        "SELECT id, ts, received_at, source, dyno, kind, level, message, {FIELDS_SQL} AS fields, tags, \
         COALESCE(continued, false) AS continued, trace_id, span_id FROM {from}"
    ));
}

/// Newest first: the order of every page.
fn newest_first(lines: &mut [LineRow]) {
    lines.sort_unstable_by_key(|l| std::cmp::Reverse((l.ts, l.id)));
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
    async fn reader(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        let begin = match self.query_timeout {
            Some(t) => format!(
                "BEGIN READ ONLY; SET LOCAL statement_timeout = {}",
                t.as_millis().max(1)
            ),
            None => "BEGIN READ ONLY".to_owned(),
        };
        Ok(self.pool.begin_with(begin).await?)
    }

    /// Runs one API read in a `Store::reader` transaction. A read Postgres cancelled for
    /// running past `statement_timeout` (SQLSTATE 57014) is a [`StoreError::QueryTimeout`].
    pub(super) async fn read<T>(
        &self,
        run: impl for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        let mut tx = self.reader().await?;
        let out = run(&mut tx)
            .await
            .map_err(|e| match (&e, self.query_timeout) {
                (sqlx::Error::Database(db), Some(t)) if db.code().as_deref() == Some("57014") => {
                    StoreError::QueryTimeout(t)
                }
                _ => StoreError::from(e),
            })?;
        tx.commit().await?;
        Ok(out)
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

    /// The newest `q.n` lines matching `q` (newest first) from both tiers, with the cursor of
    /// the next page.
    pub async fn lines_page(&self, app_id: i64, q: &LogFilter) -> Result<Page, StoreError> {
        let limit = q.n + 1;
        let mut qb = QueryBuilder::new("");
        select_lines(&mut qb, "lines");
        push_filters(&mut qb, app_id, q);
        qb.push(" ORDER BY ts DESC, id DESC LIMIT ")
            .push_bind(limit);
        let q2 = q.clone();
        let mut lines: Vec<LineRow> = self
            .read(move |c| {
                Box::pin(async move {
                    let mut hot: Vec<LineRow> = qb.build_query_as().fetch_all(&mut *c).await?;
                    // With a full page of rows, only chunks reaching above its last line count.
                    let floor = (hot.len() as i64 >= limit)
                        .then(|| hot.last().map(|l| (l.ts, l.id)))
                        .flatten();
                    hot.extend(compact::page(c, app_id, &q2, limit, floor).await?);
                    Ok(hot)
                })
            })
            .await?;
        newest_first(&mut lines);
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
        q: &LogFilter,
        after_id: i64,
        exclude: &[i64],
        received_since_us: i64,
        limit: i64,
    ) -> Result<Vec<LineRow>, StoreError> {
        let mut qb = QueryBuilder::new("");
        select_lines(&mut qb, "lines");
        push_tail_filters(
            &mut qb,
            app_id,
            q,
            exclude,
            after_id,
            received_since_us,
            limit,
        );
        let (q2, exclude) = (q.clone(), exclude.to_vec());
        let mut lines: Vec<LineRow> = self
            .read(move |c| {
                Box::pin(async move {
                    let mut hot: Vec<LineRow> = qb.build_query_as().fetch_all(&mut *c).await?;
                    let cold = compact::after(
                        c,
                        app_id,
                        &q2,
                        after_id,
                        &exclude,
                        received_since_us,
                        limit,
                    );
                    hot.extend(cold.await?);
                    Ok(hot)
                })
            })
            .await?;
        lines.sort_unstable_by_key(|l| l.id);
        lines.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(lines)
    }

    /// The highest line id so far (0 when empty).
    pub async fn max_line_id(&self) -> Result<i64, StoreError> {
        self.read(move |c| {
            Box::pin(async move {
                sqlx::query_scalar(
                    "SELECT GREATEST((SELECT max(id) FROM lines), \
                     (SELECT max(max_id) FROM line_chunks), 0)",
                )
                .fetch_one(c)
                .await
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::like_prefilter;

    #[test]
    fn the_prefilter_keeps_what_case_cannot_change_and_escapes_it() {
        assert_eq!(like_prefilter("3f9A0b1c").as_deref(), Some("%3_9_0_1_%"));
        assert_eq!(
            like_prefilter("at=error code=H12").as_deref(),
            Some("%__=_____ ____=_12%")
        );
        assert_eq!(
            like_prefilter("50%_\\x").as_deref(),
            Some("%50\\%\\_\\\\_%")
        );
        // Too few characters that are not letters, or not ASCII: the ILIKE alone.
        assert_eq!(like_prefilter("timeout"), None);
        assert_eq!(like_prefilter("H12"), None);
        assert_eq!(like_prefilter("café 2024"), None);
    }
}
