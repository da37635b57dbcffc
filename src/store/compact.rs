//! The compact tier's maintenance step: a sealed row partition of `lines` rewritten into a
//! `chunks_…` partition of `line_chunks` (chunks of up to [`CHUNK_LINES`] lines of one app as
//! column arrays, compressed by TOAST, with a pruning summary and Bloom filters), in one
//! transaction that replaces the rows atomically. Called by the maintenance run in
//! `partitions`; the design is docs/storage.md, the schema migrations/0005_compact_tier.sql.

pub mod bloom;

use super::partitions::{PartitionRow, Policy, Report, LOCK_TIMEOUT};
use super::StoreError;
use bloom::Bloom;
use futures_util::TryStreamExt as _;
use sqlx::{Connection as _, PgConnection};
use std::time::Instant;

/// Lines per chunk: large enough for TOAST to find the repetition between similar lines, small
/// enough that a read unnests little more than it returns.
pub const CHUNK_LINES: i64 = 1000;

/// Columns stored as a position in the message where they are a substring of it.
pub const REFERENCED: [&str; 2] = ["request_id", "path"];

/// Chunks whose Bloom filters are written per UPDATE statement.
const BLOOM_BATCH: usize = 256;

/// The chunk table that replaces row partition `name` (`lines_p…` → `chunks_p…`).
pub fn chunk_table(name: &str) -> String {
    format!("chunks_{}", name.strip_prefix("lines_").unwrap_or(name))
}

/// Compacts every partition sealed for `policy.compact_after`, oldest first. Stops at the
/// first failure (recorded in the report, retried on the next run).
pub(super) async fn compact_sealed(
    conn: &mut PgConnection,
    policy: &Policy,
    partitions: &[PartitionRow],
    now_us: i64,
    report: &mut Report,
) -> Result<(), StoreError> {
    let Some(after) = policy.compact_after else {
        return backfill_missing_id_blocks(conn, partitions, report).await;
    };
    let sealed_before = now_us.saturating_sub(i64::try_from(after.as_micros()).unwrap_or(i64::MAX));
    for p in partitions
        .iter()
        .filter(|p| p.compacted_at.is_none() && p.to_ts.timestamp_micros() <= sealed_before)
    {
        // An empty partition stays as it is (it costs nothing), so that late lines for its
        // time still land in it rather than in the default partition; it is compacted once
        // it holds lines.
        let empty: bool =
            sqlx::query_scalar(&format!("SELECT NOT EXISTS (SELECT 1 FROM {})", p.name))
                .fetch_one(&mut *conn)
                .await?;
        if empty {
            continue;
        }
        let started = Instant::now();
        match compact_partition(conn, p).await {
            Ok(lines) => {
                let secs = started.elapsed().as_secs_f64();
                tracing::info!(partition = %p.name, lines, secs, "partition compacted");
                report.compacted.push(p.name.clone());
                report.compacted_lines += lines;
                // The UPDATE of the filters left one dead version of each (small) chunk row.
                let vacuum = format!("VACUUM (ANALYZE) {}", chunk_table(&p.name));
                if let Err(e) = sqlx::query(&vacuum).execute(&mut *conn).await {
                    tracing::warn!(partition = %p.name, error = %e, "vacuum after compaction failed");
                }
            }
            Err(e) => {
                tracing::warn!(partition = %p.name, error = %e, "partition not compacted; retrying on the next run");
                report.errors.push(format!("compact {}: {e}", p.name));
                break;
            }
        }
    }
    backfill_missing_id_blocks(conn, partitions, report).await
}

/// Builds the id filter blocks of the partitions compacted before they existed (migration
/// 0013), one partition per transaction.
async fn backfill_missing_id_blocks(
    conn: &mut PgConnection,
    partitions: &[PartitionRow],
    report: &mut Report,
) -> Result<(), StoreError> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT p.name FROM line_partitions p WHERE p.compacted_at IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM id_blocks k WHERE k.from_ts = p.from_ts \
                         AND k.to_ts = p.to_ts)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for p in partitions.iter().filter(|p| missing.contains(&p.name)) {
        if let Err(e) = backfill_id_blocks(conn, p).await {
            tracing::warn!(partition = %p.name, error = %e, "id filter blocks not built; retrying on the next run");
            report.errors.push(format!("id blocks {}: {e}", p.name));
            break;
        }
    }
    Ok(())
}

/// The request ids and trace ids of every chunk of `chunks` (a chunk table, or line_chunks
/// itself with a condition), as `SELECT app_id, max_id, message, ids`.
fn chunk_ids_select(from: &str) -> String {
    format!(
        "SELECT app_id, max_id, message, ARRAY(SELECT COALESCE(r, substr(m, a, l)) \
         FROM unnest(message, request_id, request_id_at, request_id_len) AS x(m, r, a, l)) \
         || ARRAY(SELECT t FROM unnest(trace_id) AS t WHERE t IS NOT NULL) \
         FROM {from}"
    )
}

/// Builds the id filter blocks of a partition compacted before they existed, from its chunks.
async fn backfill_id_blocks(conn: &mut PgConnection, p: &PartitionRow) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    let mut app_ids: std::collections::BTreeMap<i64, Vec<u64>> = Default::default();
    {
        let select = chunk_ids_select(&chunk_table(&p.name));
        let mut rows = sqlx::query_as::<_, (i64, i64, Vec<String>, Vec<Option<String>>)>(&select)
            .fetch(&mut *tx);
        while let Some((app, _, _, ids)) = rows.try_next().await? {
            let hashes = app_ids.entry(app).or_default();
            hashes.extend(ids.iter().flatten().map(|id| bloom::hash(id.as_bytes())));
        }
    }
    insert_id_blocks(&mut tx, p, app_ids).await?;
    tx.commit().await
}

/// Writes the id filter blocks of partition `p`, per app, from the hashes of its ids.
async fn insert_id_blocks(
    conn: &mut PgConnection,
    p: &PartitionRow,
    app_ids: std::collections::BTreeMap<i64, Vec<u64>>,
) -> Result<(), sqlx::Error> {
    for (app, mut hashes) in app_ids {
        hashes.sort_unstable();
        hashes.dedup();
        let bits = bloom::id_blocks(&hashes);
        let blocks: Vec<i16> = (0..bits.len()).map(|b| b as i16).collect();
        sqlx::query(
            "INSERT INTO id_blocks (app_id, from_ts, to_ts, block, bits) \
             SELECT $1, $2, $3, b, bits FROM unnest($4::int2[], $5::bytea[]) AS u(b, bits)",
        )
        .bind(app)
        .bind(p.from_ts)
        .bind(p.to_ts)
        .bind(&blocks)
        .bind(&bits)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The array of one column over a chunk, in line order.
fn agg(col: &str) -> String {
    format!("array_agg({col})")
}

/// Rewrites one row partition into its chunk table, in one transaction; returns its lines.
async fn compact_partition(conn: &mut PgConnection, p: &PartitionRow) -> Result<i64, sqlx::Error> {
    let chunks = chunk_table(&p.name);
    let rows = &p.name;
    let mut tx = conn.begin().await?;
    sqlx::query(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        .execute(&mut *tx)
        .await?;
    // Late lines for this slot wait (SHARE blocks writers, not readers) until the commit, then
    // land in the default partition: none can slip in between the build and the swap.
    sqlx::query(&format!("LOCK TABLE {rows} IN SHARE MODE"))
        .execute(&mut *tx)
        .await?;
    // Sorting a day of wide rows is the heaviest part: give it memory, not temp files.
    sqlx::query("SET LOCAL work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "CREATE TABLE {chunks} (LIKE line_chunks INCLUDING DEFAULTS INCLUDING CONSTRAINTS \
         INCLUDING COMPRESSION INCLUDING STORAGE)"
    ))
    .execute(&mut *tx)
    .await?;
    let plain = [
        "id",
        "ts",
        "received_at",
        "pri",
        "source",
        "dyno",
        "kind",
        "level",
        "message",
    ];
    let rest = [
        "tags",
        "fields",
        "frame_id",
        "status",
        "service_ms",
        "connect_ms",
        "bytes",
        "method",
        "path",
        "host",
        "route",
        "router_dyno",
        "request_id",
        "code",
        "parts",
        "continued",
        "trace_id",
        "span_id",
    ];
    let columns: Vec<String> = plain
        .iter()
        .chain(&["raw"])
        .chain(rest.iter())
        .map(|c| c.to_string())
        .chain(
            REFERENCED
                .iter()
                .flat_map(|c| [format!("{c}_at"), format!("{c}_len")]),
        )
        .collect();
    let aggs: Vec<String> = plain
        .iter()
        .map(|c| agg(c))
        .chain([
            "array_agg(CASE WHEN raw = line_raw(pri, ts, source, dyno, message) THEN NULL ELSE raw END)"
                .to_owned(),
        ])
        .chain(rest.iter().map(|c| {
            if REFERENCED.contains(c) {
                format!("array_agg(CASE WHEN strpos(message, {c}) > 0 THEN NULL ELSE {c} END)")
            } else {
                agg(c)
            }
        }))
        .chain(REFERENCED.iter().flat_map(|c| {
            [
                format!("array_agg(NULLIF(strpos(message, {c}), 0))"),
                format!("array_agg(CASE WHEN strpos(message, {c}) > 0 THEN length({c}) END)"),
            ]
        }))
        .collect();
    // Within a chunk, lines are grouped by kind and dyno (and in time order within those):
    // similar lines side by side compress about 8% smaller. Reads order lines themselves.
    let inserted = sqlx::query(&format!(
        "INSERT INTO {chunks} (app_id, min_ts, max_ts, min_id, max_id, n, max_received_at, \
           kinds, sources, dynos, codes, statuses, min_level, {cols}) \
         SELECT app_id, min(ts), max(ts), min(id), max(id), count(*), max(received_at), \
           array_agg(DISTINCT kind), array_agg(DISTINCT source), array_agg(DISTINCT dyno), \
           COALESCE(array_agg(DISTINCT code) FILTER (WHERE code IS NOT NULL), '{{}}'), \
           COALESCE(array_agg(DISTINCT status) FILTER (WHERE status IS NOT NULL), '{{}}'), \
           min(level), {aggs} \
         FROM (SELECT *, (row_number() OVER (PARTITION BY app_id ORDER BY ts, id) - 1) / {CHUNK_LINES} AS chunk \
               FROM {rows} ORDER BY app_id, chunk, kind, dyno, ts, id) s \
         GROUP BY app_id, chunk",
        cols = columns.join(", "),
        aggs = aggs.join(", "),
    ))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let lines = fill_blooms(&mut tx, &chunks, p).await?;
    let (rows_lines,): (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {rows}"))
        .fetch_one(&mut *tx)
        .await?;
    if rows_lines != lines {
        return Err(sqlx::Error::Protocol(format!(
            "{chunks}: {lines} lines in {inserted} chunks, {rows_lines} in {rows}"
        )));
    }
    // The swap, in the lock order of every partition DDL: `lines` first.
    sqlx::query("LOCK TABLE ONLY lines IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "ALTER TABLE line_chunks ATTACH PARTITION {chunks} FOR VALUES FROM ('{}') TO ('{}')",
        p.from_ts.to_rfc3339(),
        p.to_ts.to_rfc3339()
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!("DROP TABLE {rows}"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE line_partitions SET compacted_at = now(), compacted_lines = $2, \
         search_indexed_at = NULL WHERE name = $1",
    )
    .bind(rows)
    .bind(lines)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(lines)
}

/// Computes and stores the Bloom filters of every chunk of `chunks`, and the partition's id
/// filter blocks per app (migration 0013); returns the lines seen.
async fn fill_blooms(
    conn: &mut PgConnection,
    chunks: &str,
    p: &PartitionRow,
) -> Result<i64, sqlx::Error> {
    type Filters = (Vec<i64>, Vec<i64>, Vec<Vec<u8>>, Vec<Vec<u8>>);
    let mut filters: Filters = Default::default();
    let mut app_ids: std::collections::BTreeMap<i64, Vec<u64>> = Default::default();
    let mut lines = 0i64;
    {
        let select = chunk_ids_select(chunks);
        let mut rows = sqlx::query_as::<_, (i64, i64, Vec<String>, Vec<Option<String>>)>(&select)
            .fetch(&mut *conn);
        // The id filter holds the request ids and the trace ids (migration 0011).
        while let Some((app, max_id, messages, rids)) = rows.try_next().await? {
            lines += messages.len() as i64;
            let mut terms = Bloom::new();
            for m in &messages {
                terms.add_ngrams(m);
            }
            let mut ids = Bloom::new();
            for r in rids.iter().flatten() {
                ids.add_value(r);
            }
            app_ids
                .entry(app)
                .or_default()
                .extend_from_slice(ids.hashes());
            filters.0.push(app);
            filters.1.push(max_id);
            filters.2.push(terms.finish_terms());
            filters.3.push(ids.finish_rids());
        }
    }
    let (apps, max_ids, terms, rids) = filters;
    for start in (0..apps.len()).step_by(BLOOM_BATCH) {
        let end = (start + BLOOM_BATCH).min(apps.len());
        sqlx::query(&format!(
            "UPDATE {chunks} c SET terms_bloom = v.t, rids_bloom = v.r, ids_cover_traces = true \
             FROM unnest($1::int8[], $2::int8[], $3::bytea[], $4::bytea[]) AS v(app, max_id, t, r) \
             WHERE c.app_id = v.app AND c.max_id = v.max_id"
        ))
        .bind(&apps[start..end])
        .bind(&max_ids[start..end])
        .bind(&terms[start..end])
        .bind(&rids[start..end])
        .execute(&mut *conn)
        .await?;
    }
    insert_id_blocks(conn, p, app_ids).await?;
    Ok(lines)
}
