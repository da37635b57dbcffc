//! The aggregates read in pieces (docs/rollups.md): whole buckets from the rollup tables, the
//! edges of the range from the lines of both tiers, added up in one statement.

use super::lines_sql::percentiles_of;
use super::{GroupBy, CODE_PRUNE, METRIC_KEYS, ROUTER_COLUMNS, ROUTER_PRUNE};
use crate::store::filter::StatusRange;
use crate::store::read::compact::both_tiers_between;
use crate::store::read::pieces::{parts_or_empty, Binds};
use crate::store::rollup::{Dim, Pieces};

/// The lines of app `$1` from both tiers in each line piece, as `lines`, with `cols`.
fn line_pieces(pieces: &Pieces, binds: &mut Binds, cols: &[&str], prune: &str) -> Vec<String> {
    pieces
        .lines
        .iter()
        .map(|&(a, b)| {
            let (since, until) = binds.bounds(a, b);
            both_tiers_between(cols, prune, &since, &until)
        })
        .collect()
}

/// `/stats/requests` grouped by `by` (not a time bucket, no status filter): `$1` app, `$2`
/// limit. The histogram SQL of `histogram_sql`, fed the (key, service_ms) groups of the edge
/// lines plus each rollup row's histogram and one row carrying its errors and bytes.
pub(super) fn requests(by: GroupBy, dim: Dim, pieces: &Pieces) -> (String, Binds) {
    let mut binds = Binds::new(2);
    let mut parts: Vec<String> = line_pieces(pieces, &mut binds, ROUTER_COLUMNS, ROUTER_PRUNE)
        .into_iter()
        .map(|from| {
            format!(
                "SELECT {} AS key, service_ms AS ms, count(*) AS c, \
                        count(*) FILTER (WHERE status >= 500) AS e, sum(bytes) AS b \
                 FROM {from} WHERE kind = 'router' GROUP BY 1, 2",
                by.sql()
            )
        })
        .collect();
    if !pieces.rollups.is_empty() {
        parts.push(format!(
            "SELECT {} AS key, x.ms, x.c, x.e, x.b FROM request_rollups r \
             CROSS JOIN LATERAL ( \
               SELECT u.ms, COALESCE(u.c, 1) AS c, 0::int8 AS e, NULL::numeric AS b \
               FROM unnest(r.ms, r.ms_count) AS u(ms, c) \
               UNION ALL SELECT NULL::int4, 0::int8, r.errors, r.bytes::numeric \
             ) x \
             WHERE r.app_id = $1 AND r.dim = '{}' AND ({})",
            by.rollup_key(),
            dim.as_str(),
            binds.spans(&pieces.rollups)
        ));
    }
    // The (key, service_ms) groups of every piece summed, then the percentiles.
    let sql = percentiles_of(
        &format!(
            "SELECT key, ms, sum(c)::int8 AS c, sum(e)::int8 AS e, sum(b) AS b \
             FROM ({}) p GROUP BY 1, 2",
            parts_or_empty(
                &parts,
                "SELECT NULL::text AS key, NULL::int4 AS ms, 0::int8 AS c, 0::int8 AS e, \
                 NULL::numeric AS b WHERE false"
            )
        ),
        "key",
        "$2",
    );
    (sql, binds)
}

/// `/stats/errors` without buckets: `$1` app.
pub(super) fn errors(pieces: &Pieces) -> (String, Binds) {
    let mut binds = Binds::new(1);
    let mut parts: Vec<String> =
        line_pieces(pieces, &mut binds, &["ts", "code", "fields"], CODE_PRUNE)
            .into_iter()
            .map(|from| {
                format!(
                    "SELECT code, max(fields->>'desc') AS desc, count(*) AS count, \
                            min(ts) AS first_seen, max(ts) AS last_seen \
                     FROM {from} WHERE code IS NOT NULL GROUP BY code"
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
    (sql, binds)
}

/// `/metrics`: `$1` app, `$2` bucket seconds (float8). Every piece's counts and sums per
/// (dyno, bucket), ordered by both, not added up: `metric_sums::fold` adds them in Rust.
pub(super) fn metrics(pieces: &Pieces) -> (String, Binds) {
    let mut binds = Binds::new(2);
    let bin =
        |col: &str| format!("date_bin(make_interval(secs => $2), {col}, TIMESTAMPTZ '2000-01-01')");
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
    let cols = ["ts", "dyno", "kind", "fields"];
    let prune = "AND 'runtime_metric' = ANY(c.kinds)";
    let mut parts: Vec<String> = line_pieces(pieces, &mut binds, &cols, prune)
        .into_iter()
        .map(|from| {
            format!(
                "SELECT dyno, {} AS ts, {} FROM {from} \
                 WHERE kind = 'runtime_metric' GROUP BY 1, 2",
                bin("ts"),
                line_cols.join(", ")
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
        "SELECT * FROM ({}) p ORDER BY 1, 2",
        parts_or_empty(&parts, &empty)
    );
    (sql, binds)
}

/// `/stats/requests?by=minute|hour`, with a status range or not: `$1` app. Read with pieces
/// no coarser than the output bucket (`split(…, by.bucket_secs())`), so every rollup row lies
/// inside one output bucket. Without a status range the `all` rows are read; with one, the
/// `status` rows whose status is in it (their histograms are the same lines' split by status,
/// so their sum is the filtered lines' histogram).
///
/// Rows of `(key, count, errors, bytes, ms[], ms_count[])`, several per key: one per rollup
/// row, and one per key of each line piece. `histogram.rs` adds them up per key and computes
/// the percentiles as `percentile_cont` does.
pub(super) fn time_buckets(
    by: GroupBy,
    status: Option<StatusRange>,
    pieces: &Pieces,
) -> (String, Binds) {
    let mut binds = Binds::new(1);
    let key = by.time_bin("ts");
    let line_status = status.map_or(String::new(), |s| {
        format!(" AND status BETWEEN {} AND {}", s.from, s.to)
    });
    let mut parts: Vec<String> = line_pieces(pieces, &mut binds, ROUTER_COLUMNS, ROUTER_PRUNE)
        .into_iter()
        .map(|from| {
            format!(
                "SELECT key, sum(c)::int8, sum(e)::int8, COALESCE(sum(b), 0)::int8, \
                        array_agg(ms ORDER BY ms), array_agg(c ORDER BY ms) \
                 FROM (SELECT {key} AS key, service_ms AS ms, count(*) AS c, \
                              count(*) FILTER (WHERE status >= 500) AS e, sum(bytes) AS b \
                       FROM {from} WHERE kind = 'router'{line_status} GROUP BY 1, 2) h \
                 GROUP BY key"
            )
        })
        .collect();
    if !pieces.rollups.is_empty() {
        // Two parsed integers, written into the SQL: no text of the caller's reaches it. The
        // key is a status written as text by the writer; the pattern keeps the cast total.
        let (dim, rollup_status) = match status {
            None => (Dim::All, String::new()),
            Some(s) => (
                Dim::Status,
                format!(
                    " AND (CASE WHEN r.key ~ '^[0-9]{{1,9}}$' THEN r.key::int4 END) \
                     BETWEEN {} AND {}",
                    s.from, s.to
                ),
            ),
        };
        parts.push(format!(
            "SELECT {}, r.count, r.errors, r.bytes, r.ms, r.ms_count FROM request_rollups r \
             WHERE r.app_id = $1 AND r.dim = '{}'{rollup_status} AND ({})",
            by.time_bin("r.bucket"),
            dim.as_str(),
            binds.spans(&pieces.rollups)
        ));
    }
    let sql = parts_or_empty(
        &parts,
        "SELECT NULL::timestamptz, 0::int8, 0::int8, 0::int8, NULL::int4[], NULL::int8[] \
         WHERE false",
    );
    (sql, binds)
}

/// `/stats/errors?bucket=…`: `$1` app, `$2` bucket seconds (float8). Rollup rows are read only
/// at spans that lie inside one output bucket (the caller's `split`).
pub(super) fn error_series(pieces: &Pieces) -> (String, Binds) {
    let mut binds = Binds::new(2);
    let bin =
        |col: &str| format!("date_bin(make_interval(secs => $2), {col}, TIMESTAMPTZ '2000-01-01')");
    let mut parts: Vec<String> = line_pieces(pieces, &mut binds, &["ts", "code"], CODE_PRUNE)
        .into_iter()
        .map(|from| {
            format!(
                "SELECT {} AS ts, code, count(*) AS count FROM {from} \
                 WHERE code IS NOT NULL GROUP BY 1, 2",
                bin("ts")
            )
        })
        .collect();
    if !pieces.rollups.is_empty() {
        parts.push(format!(
            "SELECT {} AS ts, code, count FROM code_rollups WHERE app_id = $1 AND ({})",
            bin("bucket"),
            binds.spans(&pieces.rollups)
        ));
    }
    let sql = format!(
        "SELECT ts, code, sum(count)::int8 AS count FROM ({}) p GROUP BY 1, 2 ORDER BY 1, 2",
        parts_or_empty(
            &parts,
            "SELECT NULL::timestamptz AS ts, NULL::text AS code, 0::int8 AS count WHERE false"
        )
    );
    (sql, binds)
}
