//! The reference reads of `/stats/requests` over every router line of both tiers (what the
//! rollups must answer like, and what a grouping by key under `status=` reads), and the
//! histogram-to-percentiles SQL both kinds of read share.

use super::super::compact::both_tiers;

/// The router lines of app `$1` with `$2 <= ts < $3` from both tiers, as `lines`.
fn router_lines() -> String {
    both_tiers(ROUTER_COLUMNS, ROUTER_PRUNE)
}

/// The columns of router lines the request stats read.
pub(super) const ROUTER_COLUMNS: &[&str] = &[
    "ts",
    "kind",
    "route",
    "status",
    "service_ms",
    "bytes",
    "router_dyno",
    "method",
    "host",
];

/// The chunks that may hold router lines.
pub(super) const ROUTER_PRUNE: &str = "AND 'router' = ANY(c.kinds)";

/// `/stats/requests` grouped by a time bucket: `percentile_cont` per bucket. With a bucket per
/// minute there are nearly as many (bucket, service_ms) pairs as rows, so the histogram of
/// [`histogram_sql`] saves nothing; measured on 10 M lines, a day of minutes took 650 ms this
/// way and 1.5 s that way.
pub(super) fn time_buckets_sql(key: &str, out: &str, status: &str) -> String {
    let from = router_lines();
    format!(
        "SELECT {out} AS key, count, errors, p[1] AS p50_ms, p[2] AS p95_ms, p[3] AS p99_ms, \
                max_ms, bytes FROM ( \
           SELECT {key} AS key, count(*)::int8 AS count, \
                  count(*) FILTER (WHERE status >= 500)::int8 AS errors, \
                  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY service_ms) AS p, \
                  max(service_ms) AS max_ms, COALESCE(sum(bytes), 0)::int8 AS bytes \
           FROM {from} WHERE app_id = $1 AND kind = 'router' AND ts >= $2 AND ts < $3{status} \
           GROUP BY 1 \
         ) s ORDER BY s.key LIMIT $4"
    )
}

/// `/stats/requests` grouped by path, status, dyno, method or host.
pub(super) fn histogram_sql(key: &str, out: &str, status: &str) -> String {
    let from = router_lines();
    // Exact percentile_cont from a histogram: group by (key, service_ms) with a hash
    // aggregate (service_ms is whole milliseconds, so a day has few distinct values per
    // key), then read the values at the percentile positions off the running counts. One
    // small sort per key instead of sorting every row; an index-only scan of
    // lines_router_stats feeds it.
    percentiles_of(
        &format!(
            "SELECT {key} AS key, service_ms AS ms, count(*) AS c, \
                    count(*) FILTER (WHERE status >= 500) AS e, sum(bytes) AS b \
             FROM {from} WHERE app_id = $1 AND kind = 'router' AND ts >= $2 AND ts < $3{status} \
             GROUP BY 1, 2"
        ),
        out,
        "$4",
    )
}

/// Exact `percentile_cont` from a histogram: `r` selects `(key, ms, c, e, b)` (lines, errors
/// and bytes per key and service time, one row per pair); the values at the percentile
/// positions are read off the running counts per key. Groups come largest first, `limit` of
/// them (a placeholder), keys written by `out`.
pub(super) fn percentiles_of(r: &str, out: &str, limit: &str) -> String {
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
    format!(
        "WITH r AS ({r}), g AS ( \
           SELECT key, ms, c, e, b, \
                  sum(c) OVER (PARTITION BY key ORDER BY ms ROWS UNBOUNDED PRECEDING) AS upto, \
                  sum(c) FILTER (WHERE ms IS NOT NULL) OVER (PARTITION BY key) AS n \
           FROM r \
         ), s AS ( \
           SELECT key, sum(c)::int8 AS count, sum(e)::int8 AS errors, max(ms) AS max_ms, \
                  COALESCE(sum(b), 0)::int8 AS bytes, max(n) AS n, {}, {}, {} \
           FROM g GROUP BY key \
         ) \
         SELECT {out} AS key, count, errors, {}, {}, {}, max_ms, bytes FROM s \
         ORDER BY count DESC, s.key LIMIT {limit}",
        pct("0.5", "p50"),
        pct("0.95", "p95"),
        pct("0.99", "p99"),
        interp("0.5", "p50"),
        interp("0.95", "p95"),
        interp("0.99", "p99"),
    )
}
