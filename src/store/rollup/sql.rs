//! The rollup tables' SQL: the batch writer's inserts (inside its transaction), the merge
//! maintenance runs, and the deletion that follows a dropped partition.

use super::METRIC_KEYS;
use super::{ceil, floor, Cell, Rollup, Sampled, MINUTE_SECS, SPANS_SECS};
use crate::store::read::micros_to_utc;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use std::fmt::Write as _;

/// `date_bin` of `col` to `secs`-wide buckets on the grid rollups use (multiples of the width
/// since the Unix epoch, as `rollup::floor`).
fn bin(secs: &str, col: &str) -> String {
    format!("date_bin(make_interval(secs => {secs}), {col}, TIMESTAMPTZ '1970-01-01 00:00:00+00')")
}

/// The width a batch writes (`MINUTE_SECS`), as a relation `s(secs)`.
const INGEST_SPANS: &str = "(VALUES (60)) AS s(secs)";

/// The widths the merge builds from minute rows: `SPANS_SECS` but the minute.
const COARSE_SPANS: &str = "(VALUES (3600), (21600), (86400), (345600)) AS s(secs)";

/// A histogram is stored as a multiset (`ms` with repeats, `ms_count` NULL) when its lines
/// are fewer than this many times its distinct values: then 4 bytes a line cost less than
/// 12 bytes a distinct value. Minute rows nearly always are (most service times of a key in
/// a minute are distinct); coarse rows nearly never. The SQL merge uses the same rule.
pub(crate) const MULTISET_BELOW: i64 = 3;

/// `cell`'s histogram as the text of the `ms` and `ms_count` arrays (one text per row, since
/// UNNEST cannot take ragged arrays): values ascending with a final NULL for the lines
/// without one, either each value once with its count or, when that is smaller (see
/// [`MULTISET_BELOW`]), each value once per line and no counts.
fn histogram_literals(cell: &Cell) -> (String, Option<String>) {
    let distinct = cell.hist.len() as i64 + i64::from(cell.no_ms > 0);
    let lines: i64 = cell.hist.values().sum::<i64>() + cell.no_ms;
    let multiset = lines < MULTISET_BELOW * distinct;
    let (mut values, mut counts) = (String::from("{"), String::from("{"));
    let runs = cell
        .hist
        .iter()
        .map(|(v, n)| (Some(*v), *n))
        .chain((cell.no_ms > 0).then_some((None, cell.no_ms)));
    for (v, n) in runs {
        let text = v.map_or_else(|| "NULL".to_owned(), |v| v.to_string());
        if multiset {
            for _ in 0..n {
                let _ = write!(values, "{text},");
            }
        } else {
            let _ = write!(values, "{text},");
            let _ = write!(counts, "{n},");
        }
    }
    values.pop();
    values.push('}');
    if multiset {
        return (values, None);
    }
    counts.pop();
    counts.push('}');
    (values, Some(counts))
}

/// Writes `rollup` (the sum of a batch's requests) as unmerged rows, in the caller's
/// transaction.
pub(crate) async fn insert(conn: &mut PgConnection, rollup: &Rollup) -> Result<(), sqlx::Error> {
    let rows = rollup.request_rows();
    if !rows.is_empty() {
        let mut app = Vec::new();
        let mut span = Vec::new();
        let mut bucket: Vec<DateTime<Utc>> = Vec::new();
        let mut dim = Vec::new();
        let mut key: Vec<Option<&str>> = Vec::new();
        let mut count = Vec::new();
        let mut errors = Vec::new();
        let mut bytes = Vec::new();
        let mut ms = Vec::new();
        let mut ms_count = Vec::new();
        for ((a, s, b, d), groups) in &rows {
            let cells = groups
                .keyed
                .iter()
                .map(|(k, c)| (Some(&**k), c))
                .chain(groups.none.iter().map(|c| (None, c)));
            for (k, c) in cells {
                app.push(*a);
                span.push(*s);
                bucket.push(micros_to_utc(*b));
                dim.push(d.as_str());
                key.push(k);
                count.push(c.count);
                errors.push(c.errors);
                bytes.push(c.bytes);
                let (values, counts) = histogram_literals(c);
                ms.push(values);
                ms_count.push(counts);
            }
        }
        sqlx::query(
            "INSERT INTO request_rollups \
               (app_id, span_secs, bucket, dim, key, count, errors, bytes, ms, ms_count) \
             SELECT a, s, b, d, k, n, e, y, ms::int4[], mc::int8[] \
             FROM UNNEST($1::int8[], $2::int4[], $3::timestamptz[], $4::text[], $5::text[], \
                         $6::int8[], $7::int8[], $8::int8[], $9::text[], $10::text[]) \
                  AS t(a, s, b, d, k, n, e, y, ms, mc)",
        )
        .bind(&app)
        .bind(&span)
        .bind(&bucket)
        .bind(&dim)
        .bind(&key)
        .bind(&count)
        .bind(&errors)
        .bind(&bytes)
        .bind(&ms)
        .bind(&ms_count)
        .execute(&mut *conn)
        .await?;
    }
    if !rollup.codes.is_empty() {
        let (app, ts, code, fields) = columns(&rollup.codes);
        sqlx::query(&format!(
            "INSERT INTO code_rollups (app_id, span_secs, bucket, code, \"desc\", count, \
               first_seen, last_seen) \
             SELECT t.a, s.secs, {}, t.code, t.f::jsonb ->> 'desc', count(*), min(t.ts), max(t.ts) \
             FROM UNNEST($1::int8[], $2::timestamptz[], $3::text[], $4::text[]) AS t(a, ts, code, f) \
             CROSS JOIN {INGEST_SPANS} GROUP BY 1, 2, 3, 4, 5",
            bin("s.secs", "t.ts")
        ))
        .bind(&app)
        .bind(&ts)
        .bind(&code)
        .bind(&fields)
        .execute(&mut *conn)
        .await?;
    }
    if !rollup.metric_cells.is_empty() {
        let rows = super::metric_cells::rows(&rollup.metric_cells);
        let mut app = Vec::with_capacity(rows.len());
        let mut span = Vec::with_capacity(rows.len());
        let mut bucket: Vec<DateTime<Utc>> = Vec::with_capacity(rows.len());
        let mut dyno = Vec::with_capacity(rows.len());
        let mut samples = Vec::with_capacity(rows.len());
        let mut sums = Vec::with_capacity(rows.len());
        for ((a, s, b, d), cells) in &rows {
            app.push(*a);
            span.push(*s);
            bucket.push(micros_to_utc(*b));
            dyno.push(*d);
            // Array literals, as for the request rows.
            let (mut n, mut total) = (String::from("{"), String::from("{"));
            for (i, (count, sum)) in cells.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                let _ = write!(n, "{sep}{count}");
                let _ = write!(total, "{sep}{}", sum.text());
            }
            n.push('}');
            total.push('}');
            samples.push(n);
            sums.push(total);
        }
        sqlx::query(
            "INSERT INTO metric_rollups (app_id, span_secs, bucket, dyno, samples, sums) \
             SELECT a, s, b, d, n::int8[], t::numeric[] \
             FROM UNNEST($1::int8[], $2::int4[], $3::timestamptz[], $4::text[], $5::text[], \
                         $6::text[]) AS u(a, s, b, d, n, t)",
        )
        .bind(&app)
        .bind(&span)
        .bind(&bucket)
        .bind(&dyno)
        .bind(&samples)
        .bind(&sums)
        .execute(&mut *conn)
        .await?;
    }
    // The few lines summed by Postgres itself (see `Rollup::metrics`).
    if !rollup.metrics.is_empty() {
        let (app, ts, dyno, fields) = columns(&rollup.metrics);
        sqlx::query(&format!(
            "WITH t AS ( \
               SELECT a, ts, dyno, f::jsonb AS f \
               FROM UNNEST($1::int8[], $2::timestamptz[], $3::text[], $4::text[]) AS t(a, ts, dyno, f) \
             ), per AS ( \
               SELECT t.a, s.secs, {} AS bucket, t.dyno, k.i, \
                      count(x.v) AS n, COALESCE(sum(x.v), 0) AS total \
               FROM t CROSS JOIN {INGEST_SPANS} \
               CROSS JOIN unnest($5::text[]) WITH ORDINALITY AS k(name, i) \
               CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(t.f -> k.name) = 'number' \
                                          THEN (t.f ->> k.name)::numeric END AS v) AS x \
               GROUP BY 1, 2, 3, 4, 5 \
             ) \
             INSERT INTO metric_rollups (app_id, span_secs, bucket, dyno, samples, sums) \
             SELECT a, secs, bucket, dyno, array_agg(n ORDER BY i), array_agg(total ORDER BY i) \
             FROM per GROUP BY 1, 2, 3, 4",
            bin("s.secs", "t.ts")
        ))
        .bind(&app)
        .bind(&ts)
        .bind(&dyno)
        .bind(&fields)
        .bind(METRIC_KEYS)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The columns of sampled lines, for UNNEST.
type SampledColumns<'a> = (
    Vec<i64>,
    Vec<DateTime<Utc>>,
    Vec<&'a str>,
    Vec<Option<&'a str>>,
);

fn columns(lines: &[Sampled]) -> SampledColumns<'_> {
    (
        lines.iter().map(|l| l.app_id).collect(),
        lines.iter().map(|l| micros_to_utc(l.ts_us)).collect(),
        lines.iter().map(|l| l.key.as_str()).collect(),
        lines.iter().map(|l| l.fields.as_deref()).collect(),
    )
}

/// The three rollup tables.
#[derive(Debug, Clone, Copy)]
enum Table {
    Requests,
    Codes,
    Metrics,
}

impl Table {
    const ALL: [Table; 3] = [Table::Requests, Table::Codes, Table::Metrics];

    fn name(self) -> &'static str {
        match self {
            Table::Requests => "request_rollups",
            Table::Codes => "code_rollups",
            Table::Metrics => "metric_rollups",
        }
    }

    /// The columns (besides app_id, span_secs and bucket) whose rows one merge rewrites
    /// together: a request dimension is merged on its own.
    fn merge_scope(self) -> &'static [&'static str] {
        match self {
            Table::Requests => &["dim"],
            Table::Codes | Table::Metrics => &[],
        }
    }

    /// The row's columns after app_id, span_secs and bucket, for a source relation `src`.
    fn payload(self) -> &'static str {
        match self {
            Table::Requests => "dim, key, count, errors, bytes, ms, ms_count",
            Table::Codes => "code, \"desc\", count, first_seen, last_seen",
            Table::Metrics => "dyno, samples, sums",
        }
    }

    /// `INSERT` of the merged rows of `src` (a relation with this table's columns): one per
    /// (app, span, bucket, group), sums unchanged.
    fn insert_merged(self, src: &str) -> String {
        let t = self.name();
        match self {
            Table::Requests => format!(
                "INSERT INTO {t} (app_id, span_secs, bucket, dim, key, count, errors, bytes, ms, \
                   ms_count, merged) \
                 SELECT app_id, span_secs, bucket, dim, key, n, e, b, \
                        CASE WHEN multiset THEN (SELECT array_agg(v ORDER BY v) \
                               FROM unnest(ms, c) AS p(v, k), generate_series(1, k)) \
                             ELSE ms END, \
                        CASE WHEN NOT multiset THEN c END, true \
                 FROM ( \
                   SELECT app_id, span_secs, bucket, dim, key, sum(n)::int8 AS n, \
                          sum(e)::int8 AS e, sum(b)::int8 AS b, array_agg(ms ORDER BY ms) AS ms, \
                          array_agg(c ORDER BY ms) AS c, \
                          sum(c) < {MULTISET_BELOW} * count(*) AS multiset \
                   FROM ( \
                     SELECT r.app_id, r.span_secs, r.bucket, r.dim, r.key, x.ms, \
                            sum(COALESCE(x.c, 1))::int8 AS c, \
                            sum(CASE WHEN x.i = 1 THEN r.count ELSE 0 END) AS n, \
                            sum(CASE WHEN x.i = 1 THEN r.errors ELSE 0 END) AS e, \
                            sum(CASE WHEN x.i = 1 THEN r.bytes ELSE 0 END) AS b \
                     FROM {src} r, unnest(r.ms, r.ms_count) WITH ORDINALITY AS x(ms, c, i) \
                     GROUP BY 1, 2, 3, 4, 5, 6 \
                   ) h GROUP BY 1, 2, 3, 4, 5 \
                 ) m"
            ),
            Table::Codes => format!(
                "INSERT INTO {t} (app_id, span_secs, bucket, code, \"desc\", count, first_seen, \
                   last_seen, merged) \
                 SELECT app_id, span_secs, bucket, code, \"desc\", sum(count)::int8, \
                        min(first_seen), max(last_seen), true \
                 FROM {src} r GROUP BY 1, 2, 3, 4, 5"
            ),
            Table::Metrics => format!(
                "INSERT INTO {t} (app_id, span_secs, bucket, dyno, samples, sums, merged) \
                 SELECT app_id, span_secs, bucket, dyno, array_agg(n ORDER BY i), \
                        array_agg(total ORDER BY i), true \
                 FROM ( \
                   SELECT r.app_id, r.span_secs, r.bucket, r.dyno, x.i, sum(x.n)::int8 AS n, \
                          sum(x.total) AS total \
                   FROM {src} r, unnest(r.samples, r.sums) WITH ORDINALITY AS x(n, total, i) \
                   GROUP BY 1, 2, 3, 4, 5 \
                 ) h GROUP BY 1, 2, 3, 4"
            ),
        }
    }
}

impl Store {
    /// Merges the rollup rows batches added (maintenance does it every run; tests and the
    /// query bench call it directly). Returns how many rows were merged away.
    pub async fn merge_rollups(&self) -> Result<u64, StoreError> {
        let mut conn = self.pool().acquire().await?;
        Ok(merge(&mut conn).await?)
    }
}

/// The transaction-level advisory lock a merge and the rebuild after a dropped partition
/// ([`forget`]) take: both rewrite coarse rows from finer ones, and neither may miss the
/// other's rows.
const ROLLUP_LOCK_KEY: i64 = 0x6c6f_6764_7261_6972;

/// Merges the minute rows batches added into one row per minute and group, and adds what they
/// hold to the coarser rows (hour, 6 hours, day, 4 days), which only the merge writes. Each
/// table is one statement: the minute rows are deleted, their sums and the coarse rows'
/// new sums inserted in the same snapshot, so a concurrent read sees the rows before or
/// after, never both, and rows a batch commits meanwhile are left for the next run.
///
/// The invariant readers rely on: the coarse rows of a bucket hold every line of it except
/// those of its unmerged minute rows, so a read adds the unmerged minute rows inside each
/// coarse piece (`Binds::spans`). A merge running concurrently in another process deletes
/// each row at most once, and inserts only sums of the rows it deleted itself, so it loses
/// and doubles nothing either. Returns how many batch rows were merged.
pub(crate) async fn merge(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ROLLUP_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let mut merged = 0;
    for table in Table::ALL {
        let t = table.name();
        let scope = table.merge_scope();
        let on = |g: &str| -> String {
            scope
                .iter()
                .map(|c| format!(" AND r.{c} = {g}.{c}"))
                .collect()
        };
        let group_cols: String = scope.iter().map(|c| format!(", {c}")).collect();
        let payload = table.payload();
        let src = format!(
            "(SELECT app_id, span_secs, bucket, {payload} FROM d \
              UNION ALL SELECT * FROM c \
              UNION ALL SELECT app_id, span_secs, bucket, {payload} FROM cd)"
        );
        let sql = format!(
            "WITH g AS (SELECT DISTINCT app_id, bucket{group_cols} FROM {t} \
                        WHERE NOT merged AND span_secs = {MINUTE_SECS}), \
             d AS (DELETE FROM {t} r USING g WHERE r.span_secs = {MINUTE_SECS} \
                   AND r.app_id = g.app_id AND r.bucket = g.bucket{} RETURNING r.*), \
             c AS (SELECT app_id, s.secs AS span_secs, {} AS bucket, {payload} \
                   FROM d CROSS JOIN {COARSE_SPANS} WHERE NOT d.merged), \
             cg AS (SELECT DISTINCT app_id, span_secs, bucket{group_cols} FROM c), \
             cd AS (DELETE FROM {t} r USING cg WHERE r.app_id = cg.app_id \
                    AND r.span_secs = cg.span_secs AND r.bucket = cg.bucket{} RETURNING r.*), \
             ins AS ({} RETURNING 1) \
             SELECT count(*) FROM d WHERE NOT merged",
            on("g"),
            bin("s.secs", "d.bucket"),
            on("cg"),
            table.insert_merged(&src)
        );
        let n: i64 = sqlx::query_scalar(&sql).fetch_one(&mut *tx).await?;
        merged += u64::try_from(n).unwrap_or(0);
    }
    tx.commit().await?;
    Ok(merged)
}

/// Deletes the rollups of `[from_us, to_us)` (a partition being dropped, in its transaction)
/// and rebuilds the hour and day rows that reach past it from the minute rows that remain.
pub(crate) async fn forget(
    conn: &mut PgConnection,
    from_us: i64,
    to_us: i64,
) -> Result<(), sqlx::Error> {
    // Held until the caller's transaction ends.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ROLLUP_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    for table in Table::ALL {
        let t = table.name();
        sqlx::query(&format!(
            "DELETE FROM {t} WHERE span_secs = 60 AND bucket >= $1 AND bucket < $2"
        ))
        .bind(micros_to_utc(floor(from_us, 60)))
        .bind(micros_to_utc(ceil(to_us, 60)))
        .execute(&mut *conn)
        .await?;
        // Each coarser span is rebuilt from the one below it, already rebuilt: the widths tile
        // each other, and the minute rows of the groupings by key may be gone from old days
        // (`age_keyed_minutes`) while their hour rows are not. Unmerged minute rows are not in
        // the coarse rows yet (the merge adds them), so they are left out here too.
        for (finer, span) in SPANS_SECS.into_iter().zip(SPANS_SECS.into_iter().skip(1)) {
            let (a, b) = (
                micros_to_utc(floor(from_us, span)),
                micros_to_utc(ceil(to_us, span)),
            );
            sqlx::query(&format!(
                "DELETE FROM {t} WHERE span_secs = $3 AND bucket >= $1 AND bucket < $2"
            ))
            .bind(a)
            .bind(b)
            .bind(span)
            .execute(&mut *conn)
            .await?;
            let src = format!(
                "(SELECT app_id, $3::int4 AS span_secs, {} AS bucket, {} FROM {t} \
                  WHERE span_secs = {finer} AND merged AND bucket >= $1 AND bucket < $2)",
                bin("$3", "bucket"),
                table.payload()
            );
            sqlx::query(&table.insert_merged(&src))
                .bind(a)
                .bind(b)
                .bind(span)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// The groupings whose minute rows maintenance deletes from old days (`age_keyed_minutes`):
/// they are most of the minute rows' bytes, and only the sub-hour edges of a read need them.
/// `all` (by=minute, by=hour) and `status` (by=minute with `status=`) keep theirs.
pub const AGED_DIMS: [super::Dim; 4] = [
    super::Dim::Route,
    super::Dim::Dyno,
    super::Dim::Method,
    super::Dim::Host,
];

/// Moves the keyed minute horizon (migration 0017) to `horizon_us` (a whole hour) when that is
/// later than the current one, and deletes the minute rows of [`AGED_DIMS`] below the horizon
/// published by an earlier run. Readers take the sub-hour edges below the horizon they read
/// from the lines; deleting only below the previous value leaves a reader that read it just
/// before this run the rows it is about to read. Unmerged rows stay until the merge has added
/// them to the coarse rows; the next run deletes them. Returns the rows deleted.
pub(crate) async fn age_keyed_minutes(
    conn: &mut PgConnection,
    horizon_us: i64,
) -> Result<u64, sqlx::Error> {
    let dims: Vec<&str> = AGED_DIMS.iter().map(|d| d.as_str()).collect();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let published: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT keyed_minutes_from FROM rollup_horizon FOR UPDATE")
            .fetch_one(&mut *tx)
            .await?;
    let mut deleted = 0;
    if let Some(published) = published {
        deleted = sqlx::query(
            "DELETE FROM request_rollups \
             WHERE span_secs = 60 AND merged AND bucket < $1 AND dim = ANY($2)",
        )
        .bind(published)
        .bind(&dims)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    // greatest() skips a NULL.
    sqlx::query("UPDATE rollup_horizon SET keyed_minutes_from = greatest(keyed_minutes_from, $1)")
        .bind(micros_to_utc(floor(horizon_us, 3600)))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted)
}

/// The keyed minute horizon: below it, minute rows of [`AGED_DIMS`] may be gone; `None`
/// while none has been deleted.
pub(crate) async fn keyed_minutes_from(
    conn: &mut PgConnection,
) -> Result<Option<i64>, sqlx::Error> {
    let h: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT keyed_minutes_from FROM rollup_horizon")
            .fetch_one(&mut *conn)
            .await?;
    Ok(h.map(|h| h.timestamp_micros()))
}
