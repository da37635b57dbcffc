//! Reads of the compact tier (`line_chunks`, docs/storage.md), shaped like the row reads beside them: the
//! chunks that may match a query are chosen by their summary and Bloom filters, unnested, and
//! the very same filters as on `lines` applied to the unnested lines, so both tiers answer
//! alike. Every read of a request runs in one transaction whose first statement reads
//! `lines`; compaction swaps a partition under an exclusive lock on `lines`, so a read never
//! sees a partition both as rows and as chunks, nor neither.

use super::{
    micros_to_utc, push_filters, push_process_type, push_tail_filters, push_term, select_lines,
    LineRow,
};
use crate::store::compact::bloom::{hash, id_block, seeds, term_probe, RID_HASHES, TERM_HASHES};
use crate::store::compact::REFERENCED;
use crate::store::filter::{Cursor, LogFilter};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

/// Every column of `lines` the query API reads, in the order the chunk arrays are unnested.
const API_COLUMNS: &[&str] = &[
    "id",
    "ts",
    "received_at",
    "source",
    "dyno",
    "kind",
    "level",
    "message",
    "tags",
    "fields",
    "status",
    "service_ms",
    "connect_ms",
    "bytes",
    "method",
    "path",
    "host",
    "router_dyno",
    "request_id",
    "code",
    "continued",
    "trace_id",
    "span_id",
];

/// Chunks looked at in the first round of a newest-first page; each further round looks at
/// four times as many.
const FIRST_ROUND_CHUNKS: i64 = 2;

/// `(SELECT c.app_id, <cols> FROM line_chunks c CROSS JOIN LATERAL unnest(c.<arrays>) …`,
/// left open for the chunk conditions (`c.` columns) that follow. A column kept as a position
/// in the message where it is a substring of it (compact::REFERENCED) is rebuilt from it.
pub(super) fn unnest_from(cols: &[&str]) -> String {
    let mut arrays: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    let mut select = Vec::new();
    for c in cols {
        if REFERENCED.contains(c) {
            arrays.extend([format!("{c}_at"), format!("{c}_len")]);
            if !arrays.iter().any(|a| a == "message") {
                arrays.push("message".into());
            }
            // path is COLLATE "C" in `lines`; request_id has the default collation.
            let collate = if *c == "path" { " COLLATE \"C\"" } else { "" };
            select.push(format!(
                "COALESCE(u.{c}, substr(u.message, u.{c}_at, u.{c}_len){collate}) AS {c}"
            ));
        } else {
            select.push(format!("u.{c}"));
        }
    }
    let qualified: Vec<String> = arrays.iter().map(|c| format!("c.{c}")).collect();
    format!(
        "(SELECT c.app_id, {} FROM line_chunks c CROSS JOIN LATERAL unnest({}) AS u({}) WHERE true",
        select.join(", "),
        qualified.join(", "),
        arrays.join(", ")
    )
}

/// `FROM`-clause text reading both tiers' lines of app `$1` with `$2 <= ts < $3`, as a
/// relation named `lines` with `app_id` and `cols`; `prune` adds chunk conditions.
pub(super) fn both_tiers(cols: &[&str], prune: &str) -> String {
    both_tiers_between(cols, prune, "$2", "$3")
}

/// [`both_tiers`] with `since <= ts < until` given as the placeholders `since` and `until`:
/// the rows of that range, and the lines of that range from the chunks that overlap it (a
/// chunk at an edge holds lines on both sides of it). `cols` must hold `ts`.
pub(super) fn both_tiers_between(cols: &[&str], prune: &str, since: &str, until: &str) -> String {
    format!(
        "(SELECT app_id, {list} FROM lines WHERE app_id = $1 AND ts >= {since} AND ts < {until} \
          UNION ALL SELECT * FROM {unnest} AND c.app_id = $1 AND c.max_ts >= {since} \
          AND c.min_ts < {until} AND u.ts >= {since} AND u.ts < {until} {prune}) u) lines",
        list = cols.join(", "),
        unnest = unnest_from(cols),
    )
}

/// `FROM`-clause text reading every line of app `app_id` from both tiers as `lines`, with the
/// API's columns and `raw` (rebuilt where the chunk did not store it); `prune` adds chunk
/// conditions. For reads by id (the log viewer's line context).
pub(super) fn all_of_app(app_id: i64, prune: &str) -> String {
    let cols: Vec<&str> = API_COLUMNS.iter().copied().chain(["pri", "raw"]).collect();
    // Both tiers store `raw` NULL where line_raw() rebuilds it (migrations 0005 and 0014).
    let rebuilt = |t: &str| {
        format!("COALESCE({t}raw, line_raw({t}pri, {t}ts, {t}source, {t}dyno, {t}message)) AS raw")
    };
    let chunk = unnest_from(&cols).replacen("u.raw", &rebuilt("u."), 1);
    let list = cols
        .iter()
        .map(|c| {
            if *c == "raw" {
                rebuilt("")
            } else {
                c.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "(SELECT app_id, {list} FROM lines WHERE app_id = {app_id} \
          UNION ALL {chunk} AND c.app_id = {app_id} {prune})) lines",
    )
}

/// Appends the chunk conditions implied by `q` (each a necessary condition for a chunk to
/// hold a matching line).
fn push_prune(
    qb: &mut QueryBuilder<'_, Postgres>,
    app_id: i64,
    q: &LogFilter,
    id_ranges: Option<&[(DateTime<Utc>, DateTime<Utc>)]>,
) {
    qb.push(" AND c.app_id = ").push_bind(app_id);
    // The partitions whose id filter blocks may hold the id looked up (see `id_ranges`).
    if let Some(ranges) = id_ranges {
        qb.push(" AND (false");
        for (from, to) in ranges {
            qb.push(" OR c.min_ts >= ")
                .push_bind(*from)
                .push(" AND c.min_ts < ")
                .push_bind(*to);
        }
        qb.push(")");
    }
    if let Some(source) = &q.source {
        qb.push(" AND ")
            .push_bind(source.clone())
            .push(" = ANY(c.sources)");
    }
    if let Some(dyno) = &q.dyno {
        qb.push(" AND ")
            .push_bind(dyno.clone())
            .push(" = ANY(c.dynos)");
    }
    if let Some(t) = &q.process_type {
        qb.push(" AND EXISTS (SELECT 1 FROM unnest(c.dynos) d WHERE ");
        push_process_type(qb, "d", t);
        qb.push(")");
    }
    if !q.kinds.is_empty() {
        let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        qb.push(" AND c.kinds && ").push_bind(kinds);
    }
    if let Some(level) = q.level {
        qb.push(" AND c.min_level <= ").push_bind(level.severity());
    }
    // Per term: the Bloom filter, then (CASE fixes the order) the exact test on the messages
    // alone, before any other column of the chunk is read.
    for term in &q.terms {
        let probe = term_probe(term);
        qb.push(" AND CASE WHEN true");
        if !probe.is_empty() {
            push_bloom(qb, "c.terms_bloom", &probe, TERM_HASHES);
        }
        qb.push(" THEN EXISTS (SELECT 1 FROM unnest(c.message) m WHERE ");
        push_term(qb, "m", term);
        qb.push(") ELSE false END");
    }
    if let Some(id) = &q.request_id {
        push_bloom(qb, "c.rids_bloom", &[hash(id.as_bytes())], RID_HASHES);
    }
    // Trace ids are in the id filter of chunks that say so (migration 0011); a chunk whose
    // filter predates that is read.
    if let Some(id) = &q.trace_id {
        qb.push(format!(
            " AND (NOT c.ids_cover_traces OR {})",
            bloom_expr("c.rids_bloom", &[hash(id.as_bytes())], RID_HASHES)
        ));
    }
    if let Some(id) = &q.request_or_trace_id {
        // As the row query: the request id as given, or the trace id in lower case.
        let lower = id.to_ascii_lowercase();
        let mut arms = vec![bloom_expr(
            "c.rids_bloom",
            &[hash(id.as_bytes())],
            RID_HASHES,
        )];
        if lower != *id {
            arms.push(bloom_expr(
                "c.rids_bloom",
                &[hash(lower.as_bytes())],
                RID_HASHES,
            ));
        }
        qb.push(format!(
            " AND ({} OR NOT c.ids_cover_traces)",
            arms.join(" OR ")
        ));
    }
    if let Some(s) = q.status {
        qb.push(" AND EXISTS (SELECT 1 FROM unnest(c.statuses) s WHERE s BETWEEN ")
            .push_bind(s.from)
            .push(" AND ")
            .push_bind(s.to)
            .push(")");
    }
    if let Some(code) = &q.code {
        qb.push(" AND ")
            .push_bind(code.clone())
            .push(" = ANY(c.codes)");
    }
    if let Some(since) = q.since_us {
        qb.push(" AND c.max_ts >= ").push_bind(micros_to_utc(since));
    }
    if let Some(until) = q.until_us {
        qb.push(" AND c.min_ts < ").push_bind(micros_to_utc(until));
    }
    if let Some(Cursor { ts_us, .. }) = q.cursor {
        qb.push(" AND c.min_ts <= ").push_bind(micros_to_utc(ts_us));
    }
}

/// Appends "the filter `col` (a column reference) may hold every one of `hashes`" (see
/// compact/bloom.rs).
fn push_bloom(qb: &mut QueryBuilder<'_, Postgres>, col: &str, hashes: &[u64], k: u32) {
    qb.push(" AND ").push(bloom_expr(col, hashes, k));
}

/// "The filter `col` may hold every one of `hashes`", as one SQL condition.
fn bloom_expr(col: &str, hashes: &[u64], k: u32) -> String {
    // Plain arithmetic on numbers computed here (no text from the request): one expression
    // per bit, evaluated inline, is several times cheaper per chunk than a subquery.
    let mut bits = Vec::new();
    for &h in hashes {
        let (a, b) = seeds(h);
        for i in 0..i64::from(k) {
            bits.push(format!(
                "get_bit({col}, ({} % (length({col}) * 8))::int) = 1",
                a + i * b
            ));
        }
    }
    if bits.is_empty() {
        return "true".to_owned();
    }
    format!("({})", bits.join(" AND "))
}

/// For a lookup by request or trace id: the ranges of the compacted partitions that may hold
/// it, from one block of each partition's id filter (migration 0013), plus every compacted
/// partition without such a block (compacted before it, or without lines of the app); `None`
/// when `q` looks up no id.
async fn id_ranges(
    c: &mut PgConnection,
    app_id: i64,
    q: &LogFilter,
) -> Result<Option<Vec<(DateTime<Utc>, DateTime<Utc>)>>, sqlx::Error> {
    // Any one id filter gives a superset of the partitions the whole query can match.
    let ids: Vec<String> = if let Some(id) = &q.request_id {
        vec![id.clone()]
    } else if let Some(id) = &q.trace_id {
        vec![id.clone()]
    } else if let Some(id) = &q.request_or_trace_id {
        // As the row query: the request id as given, or the trace id in lower case.
        let mut ids = vec![id.clone(), id.to_ascii_lowercase()];
        ids.dedup();
        ids
    } else {
        return Ok(None);
    };
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for id in ids {
        let h = hash(id.as_bytes());
        // Numbers computed here (no text from the request) go into the SQL.
        let sql = format!(
            "SELECT p.from_ts, p.to_ts FROM line_partitions p \
             LEFT JOIN id_blocks k ON k.app_id = $1 AND k.block = $2 AND k.from_ts = p.from_ts \
             WHERE p.compacted_at IS NOT NULL AND (k.bits IS NULL OR {})",
            bloom_expr("k.bits", &[h], RID_HASHES)
        );
        let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(&sql)
            .bind(app_id)
            .bind(id_block(h) as i16)
            .fetch_all(&mut *c)
            .await?;
        out.extend(rows);
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

/// The newest `limit` compacted lines matching `q`, newest first, skipping chunks whose
/// lines are all older than `floor` (a line the caller already has `limit` lines above).
pub(super) async fn page(
    c: &mut PgConnection,
    app_id: i64,
    q: &LogFilter,
    limit: i64,
    floor: Option<(DateTime<Utc>, i64)>,
) -> Result<Vec<LineRow>, sqlx::Error> {
    let ids = id_ranges(c, app_id, q).await?;
    if ids.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let mut out: Vec<LineRow> = Vec::new();
    let mut before: Option<(DateTime<Utc>, i64)> = None;
    let mut round = FIRST_ROUND_CHUNKS;
    loop {
        // The next chunks newest first. An app's chunks never overlap in (ts, id), so once
        // `limit` lines are found no older chunk can hold a newer one.
        let mut qb = QueryBuilder::new("SELECT max_ts, max_id FROM line_chunks c WHERE true");
        push_prune(&mut qb, app_id, q, ids.as_deref());
        if let Some((ts, id)) = before {
            qb.push(" AND (c.max_ts, c.max_id) < (")
                .push_bind(ts)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        if let Some((ts, id)) = floor {
            qb.push(" AND (c.max_ts, c.max_id) >= (")
                .push_bind(ts)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        qb.push(" ORDER BY c.max_ts DESC, c.max_id DESC LIMIT ")
            .push_bind(round);
        let keys: Vec<(DateTime<Utc>, i64)> = qb.build_query_as().fetch_all(&mut *c).await?;
        let (Some(&newest), Some(&oldest)) = (keys.first(), keys.last()) else {
            break;
        };
        let ids: Vec<i64> = keys.iter().map(|k| k.1).collect();
        let mut qb = QueryBuilder::new("");
        select_lines(&mut qb, &unnest_from(API_COLUMNS));
        qb.push(" AND c.app_id = ")
            .push_bind(app_id)
            .push(" AND c.max_ts BETWEEN ")
            .push_bind(oldest.0)
            .push(" AND ")
            .push_bind(newest.0)
            .push(" AND c.max_id = ANY(")
            .push_bind(ids)
            .push(")) lines");
        push_filters(&mut qb, app_id, q);
        qb.push(" ORDER BY ts DESC, id DESC LIMIT ")
            .push_bind(limit - out.len() as i64);
        out.extend(qb.build_query_as::<LineRow>().fetch_all(&mut *c).await?);
        if out.len() as i64 >= limit || (keys.len() as i64) < round {
            break;
        }
        before = Some(oldest);
        round *= 4;
    }
    Ok(out)
}

/// Compacted lines matching `q` with an id above `after_id`, not in `exclude`, received since
/// `received_since_us`, oldest id first (a tail's view of the compact tier: usually nothing).
pub(super) async fn after(
    c: &mut PgConnection,
    app_id: i64,
    q: &LogFilter,
    after_id: i64,
    exclude: &[i64],
    received_since_us: i64,
    limit: i64,
) -> Result<Vec<LineRow>, sqlx::Error> {
    let mut qb = QueryBuilder::new("");
    select_lines(&mut qb, &unnest_from(API_COLUMNS));
    push_prune(&mut qb, app_id, q, None);
    qb.push(" AND c.max_id > ")
        .push_bind(after_id)
        .push(" AND c.max_received_at >= ")
        .push_bind(micros_to_utc(received_since_us))
        .push(") lines");
    push_tail_filters(
        &mut qb,
        app_id,
        q,
        exclude,
        after_id,
        received_since_us,
        limit,
    );
    qb.build_query_as().fetch_all(&mut *c).await
}
