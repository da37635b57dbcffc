//! Time partitions of `lines` and the maintenance task that keeps them: partitions created
//! ahead of time, retention by age and by database size (whole partitions dropped, oldest
//! first, never a bulk DELETE), stray lines moved out of the default partition, the trigram
//! search index built on sealed partitions, the frame ledger pruned, and each alert rule's
//! history cut to its newest entries.
//!
//! One process of many does the work: each run takes a session advisory lock and the others
//! skip that round. Everything is recorded in `line_partitions` and `maintenance_status` (see
//! migrations/0003_time_partitions.sql for the schema and the reasons).

use super::{compact, Store, StoreError};

mod policy;
mod search_index;
mod slots;

use chrono::{DateTime, Utc};
pub use policy::{DropReason, Policy, Report};
pub use slots::{check_interval, missing_ranges, partition_name, slot_start};
use slots::{micros, to_utc, ts_literal, DAY_US};
use sqlx::{Connection, PgConnection};
use std::time::Duration;

/// Advisory-lock key of the maintenance run (any constant shared by every process).
pub const LOCK_KEY: i64 = 0x6c6f_6764_7261_696e; // "logdrain"

/// A partition is sealed, and gets its search index, this long after its end: late lines
/// (Logplex buffers, split chunks) still land in it first without paying for the index.
pub const SEAL_AFTER: Duration = Duration::from_secs(15 * 60);

/// The frame ledger keeps a Logplex-Frame-Id this long; Logplex retries within seconds to
/// minutes, so a day is a wide margin.
pub const FRAME_LEDGER_KEEP: Duration = Duration::from_secs(86_400);

/// How long maintenance waits for a table lock before giving up until its next run. Short, so
/// that writers and readers queued behind it never wait long.
pub(super) const LOCK_TIMEOUT: &str = "1s";

/// One partition as recorded in `line_partitions`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PartitionRow {
    /// Table name.
    pub name: String,
    /// Start of its range (inclusive).
    pub from_ts: DateTime<Utc>,
    /// End of its range (exclusive).
    pub to_ts: DateTime<Utc>,
    /// When its search index was built.
    pub search_indexed_at: Option<DateTime<Utc>>,
    /// When it was rewritten into the compact tier (its rows are then in `chunks_…`).
    pub compacted_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Runs maintenance once as of `now_us` (microseconds since the epoch). Returns at once with
    /// `ran == false` when another process is running it.
    pub async fn maintain(&self, policy: &Policy, now_us: i64) -> Result<Report, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut *conn)
            .await?;
        if !locked {
            return Ok(Report::default());
        }
        // Should this process die mid-statement, its backend stops at the next check instead
        // of finishing a long compaction for nobody (Postgres 14+; older servers ignore it).
        let _ = sqlx::query("SET client_connection_check_interval = '1s'")
            .execute(&mut *conn)
            .await;
        let result = run(&mut conn, policy, now_us).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // The session lock goes with the connection.
            conn.detach();
        }
        result
    }

    /// The recorded partitions, oldest first.
    pub async fn partitions(&self) -> Result<Vec<PartitionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, from_ts, to_ts, search_indexed_at, compacted_at FROM line_partitions \
         ORDER BY from_ts",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// What `/readyz` shows about storage: partitions, oldest line bound, last maintenance.
    pub async fn storage_status(&self) -> Result<serde_json::Value, StoreError> {
        let (count, oldest, indexed, compacted): (i64, Option<DateTime<Utc>>, i64, i64) =
            sqlx::query_as(
                "SELECT count(*), min(from_ts), count(search_indexed_at), count(compacted_at) \
                 FROM line_partitions",
            )
            .fetch_one(self.pool())
            .await?;
        type Last = (DateTime<Utc>, i64, Vec<String>, Vec<String>, Option<String>);
        let last: Option<Last> = sqlx::query_as(
            "SELECT ran_at, db_bytes, created, dropped, warning FROM maintenance_status",
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(serde_json::json!({
            "partitions": count,
            "search_indexed_partitions": indexed,
            "compacted_partitions": compacted,
            "oldest_partition_from": oldest,
            "last_maintenance": last.map(|(at, bytes, created, dropped, warning)| serde_json::json!({
                "at": at,
                "db_bytes": bytes,
                "created": created,
                "dropped": dropped,
                "warning": warning,
            })),
        }))
    }
}

async fn run(conn: &mut PgConnection, policy: &Policy, now_us: i64) -> Result<Report, StoreError> {
    let mut report = Report {
        ran: true,
        ..Report::default()
    };
    let interval_us = micros(policy.interval);
    let cutoff_us = policy.max_age.map(|age| now_us.saturating_sub(micros(age)));

    // 1. Partitions from the previous slot through tomorrow, so a day of lines never waits.
    let want_from = slot_start(now_us, interval_us) - interval_us;
    let want_to = slot_start(now_us + DAY_US, interval_us) + interval_us;
    let mut existing = recorded(conn).await?;
    for (a, b) in missing_ranges(want_from, want_to, interval_us, &bounds(&existing)) {
        if cutoff_us.is_some_and(|c| b <= c) {
            continue;
        }
        create(conn, a, b, &mut report).await;
    }

    // 2. Stray lines in the default partition: give the slots they fall in a partition (when
    // still within retention and not beyond the window above), delete those past retention.
    existing = recorded(conn).await?;
    let stray_slots: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT (extract(epoch FROM date_bin(make_interval(secs => $1), ts, \
         timestamptz '1970-01-01 00:00:00+00')) * 1000000)::bigint \
         FROM lines_default WHERE ts < $2",
    )
    .bind(policy.interval.as_secs_f64())
    .bind(to_utc(want_to))
    .fetch_all(&mut *conn)
    .await?;
    for slot in stray_slots {
        if cutoff_us.is_some_and(|c| slot + interval_us <= c) {
            continue;
        }
        for (a, b) in missing_ranges(slot, slot + 1, interval_us, &bounds(&existing)) {
            create(conn, a, b, &mut report).await;
        }
        existing = recorded(conn).await?;
    }

    // 3. Retention by age: whole partitions, and strays of the default partition.
    if let Some(cutoff) = cutoff_us {
        for p in existing
            .iter()
            .filter(|p| p.to_ts.timestamp_micros() <= cutoff)
        {
            drop_partition(conn, p, DropReason::Age, &mut report).await;
        }
        let deleted = sqlx::query("DELETE FROM lines_default WHERE ts < $1")
            .bind(to_utc(cutoff))
            .execute(&mut *conn)
            .await?;
        report.strays_deleted = deleted.rows_affected();
        for table in ["loss_events", "rule_events"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE at < $1"))
                .bind(to_utc(cutoff))
                .execute(&mut *conn)
                .await?;
        }
    }

    // 4. Sealed partitions into the compact tier, before the size budget is judged.
    let sealed = recorded(conn).await?;
    compact::compact_sealed(conn, policy, &sealed, now_us, &mut report).await?;

    // 5. Retention by size: the oldest partitions first, never the current or a future one.
    report.db_bytes = db_size(conn).await?;
    if let Some(budget) = policy.max_db_bytes {
        let budget = i64::try_from(budget).unwrap_or(i64::MAX);
        let current = slot_start(now_us, interval_us);
        let candidates: Vec<PartitionRow> = recorded(conn)
            .await?
            .into_iter()
            .filter(|p| p.from_ts.timestamp_micros() < current)
            .collect();
        let mut candidates = candidates.into_iter();
        while report.db_bytes > budget {
            let Some(p) = candidates.next() else {
                let warning = format!(
                    "database is {} bytes, over the {budget}-byte budget, and only the current \
                     and future partitions are left",
                    report.db_bytes
                );
                tracing::warn!(db_bytes = report.db_bytes, budget, "{warning}");
                report.warning = Some(warning);
                break;
            };
            if !drop_partition(conn, &p, DropReason::Size, &mut report).await {
                break;
            }
            report.db_bytes = db_size(conn).await?;
        }
    }

    // 6. The frame ledger only has to outlive Logplex's retries; alert history is kept per rule.
    let pruned = sqlx::query("DELETE FROM frames WHERE received_at < $1")
        .bind(to_utc(now_us - micros(FRAME_LEDGER_KEEP)))
        .execute(&mut *conn)
        .await?;
    report.frames_pruned = pruned.rows_affected();
    (report.alert_history_pruned, report.alert_deliveries_pruned) =
        super::alerts::prune_history(conn, policy.alert_history_keep).await?;

    // 6b. The rollup rows batches added since the last run, merged into one per bucket and group.
    report.rollups_merged = crate::store::rollup::merge(conn).await?;

    // 6b'. Minute rows of the groupings by key older than their keep (migration 0017).
    if let Some(keep) = policy.keyed_minutes_keep {
        report.keyed_minute_rollups_deleted =
            crate::store::rollup::age_keyed_minutes(conn, now_us - micros(keep)).await?;
    }

    // 6c. The request-id Bloom ranges of the row partitions that autovacuum has not
    // summarized yet (migration 0016): until then every lookup reads their pages.
    report.id_ranges_summarized = sqlx::query_scalar::<_, Option<i64>>(
        "SELECT sum(brin_summarize_new_values(i.inhrelid))::int8 FROM pg_inherits i \
         WHERE i.inhparent = 'lines_app_request_id_bloom'::regclass",
    )
    .fetch_one(&mut *conn)
    .await?
    .unwrap_or(0);

    // 7. Search indexes on sealed partitions, newest first (the likeliest to be searched),
    // unless they are about to be compacted (chunks carry their own search filters).
    if policy.search_index && policy.compact_after.is_none() {
        search_index::build_pending(conn, policy, now_us, &mut report).await?;
    }

    report.db_bytes = db_size(conn).await?;
    let dropped: Vec<String> = report
        .dropped
        .iter()
        .map(|(name, why)| format!("{name} ({})", why.as_str()))
        .collect();
    sqlx::query(
        "INSERT INTO maintenance_status (id, ran_at, db_bytes, created, dropped, indexed, warning, \
           compacted) VALUES (true, now(), $1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET ran_at = excluded.ran_at, db_bytes = excluded.db_bytes, \
         created = excluded.created, dropped = excluded.dropped, indexed = excluded.indexed, \
         warning = excluded.warning, compacted = excluded.compacted",
    )
    .bind(report.db_bytes)
    .bind(&report.created)
    .bind(&dropped)
    .bind(&report.indexed)
    .bind(&report.warning)
    .bind(&report.compacted)
    .execute(&mut *conn)
    .await?;
    Ok(report)
}

fn bounds(rows: &[PartitionRow]) -> Vec<(i64, i64)> {
    rows.iter()
        .map(|p| (p.from_ts.timestamp_micros(), p.to_ts.timestamp_micros()))
        .collect()
}

async fn recorded(conn: &mut PgConnection) -> Result<Vec<PartitionRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT name, from_ts, to_ts, search_indexed_at, compacted_at FROM line_partitions \
         ORDER BY from_ts",
    )
    .fetch_all(&mut *conn)
    .await?)
}

async fn db_size(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Creates the partition `[from_us, to_us)`, moving in the lines the default partition holds
/// for that range, in one transaction. A failure (lock not granted in time) is recorded and
/// retried on the next run.
async fn create(conn: &mut PgConnection, from_us: i64, to_us: i64, report: &mut Report) {
    let name = partition_name(from_us, to_us);
    match try_create(conn, &name, from_us, to_us).await {
        Ok(moved) => {
            tracing::info!(partition = %name, from = %to_utc(from_us), to = %to_utc(to_us), strays_moved = moved, "partition created");
            report.strays_moved += moved;
            report.created.push(name);
        }
        Err(e) => {
            tracing::warn!(partition = %name, error = %e, "partition not created; retrying on the next run");
            report.errors.push(format!("create {name}: {e}"));
        }
    }
}

/// A transaction for partition DDL: a short lock timeout, and the parent table locked first.
async fn begin_ddl(
    conn: &mut PgConnection,
) -> Result<sqlx::Transaction<'_, sqlx::Postgres>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        .execute(&mut *tx)
        .await?;
    sqlx::query("LOCK TABLE ONLY lines IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

async fn try_create(
    conn: &mut PgConnection,
    name: &str,
    from_us: i64,
    to_us: i64,
) -> Result<u64, sqlx::Error> {
    let (from, to) = (ts_literal(from_us), ts_literal(to_us));
    let mut tx = begin_ddl(conn).await?;
    // Then the default partition: the order writers lock them in.
    sqlx::query("LOCK TABLE lines_default IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "CREATE TEMP TABLE strays ON COMMIT DROP AS \
         WITH moved AS (DELETE FROM lines_default WHERE ts >= {from} AND ts < {to} RETURNING *) \
         SELECT * FROM moved"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "CREATE TABLE {name} PARTITION OF lines FOR VALUES FROM ({from}) TO ({to}) \
         WITH (autovacuum_vacuum_insert_threshold = 100000, \
               autovacuum_vacuum_insert_scale_factor = 0.01)"
    ))
    .execute(&mut *tx)
    .await?;
    let moved = sqlx::query("INSERT INTO lines SELECT * FROM strays")
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("INSERT INTO line_partitions (name, from_ts, to_ts) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(to_utc(from_us))
        .bind(to_utc(to_us))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(moved)
}

/// Drops a partition, its record and its rollups (the hour and day rows reaching past it are
/// rebuilt from the minute rows that remain), all in one transaction; false when it could not
/// (logged, retried next run).
async fn drop_partition(
    conn: &mut PgConnection,
    p: &PartitionRow,
    why: DropReason,
    report: &mut Report,
) -> bool {
    let name = p.name.as_str();
    let result = async {
        let mut tx = begin_ddl(conn).await?;
        // A compacted partition's lines are in its chunk table.
        let chunks = super::compact::chunk_table(name);
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}, {chunks}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM line_partitions WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM id_blocks WHERE from_ts = $1 AND to_ts = $2")
            .bind(p.from_ts)
            .bind(p.to_ts)
            .execute(&mut *tx)
            .await?;
        crate::store::rollup::forget(
            &mut tx,
            p.from_ts.timestamp_micros(),
            p.to_ts.timestamp_micros(),
        )
        .await?;
        tx.commit().await
    }
    .await;
    match result {
        Ok(()) => {
            tracing::info!(partition = %name, reason = why.as_str(), "partition dropped");
            report.dropped.push((name.to_owned(), why));
            true
        }
        Err(e) => {
            tracing::warn!(partition = %name, error = %e, "partition not dropped; retrying on the next run");
            report.errors.push(format!("drop {name}: {e}"));
            false
        }
    }
}
