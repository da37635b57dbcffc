//! The trigram search index on sealed partitions: built with `CREATE INDEX CONCURRENTLY` once
//! a partition's time is `SEAL_AFTER` past, newest first, never on the hot partition (the
//! index would cost ingest about tenfold there).

use super::{micros, recorded, PartitionRow, Policy, Report, SEAL_AFTER};
use crate::store::StoreError;
use sqlx::PgConnection;

/// Builds the missing search indexes of sealed partitions younger than the policy's
/// `search_index_max_age`, newest first; stops at the first failure (retried next run).
pub(super) async fn build_pending(
    conn: &mut PgConnection,
    policy: &Policy,
    now_us: i64,
    report: &mut Report,
) -> Result<(), StoreError> {
    if !trigram_available(conn).await {
        return Ok(());
    }
    let sealed_before = now_us - micros(SEAL_AFTER);
    let young_after = policy
        .search_index_max_age
        .map_or(i64::MIN, |age| now_us.saturating_sub(micros(age)));
    let mut pending: Vec<PartitionRow> = recorded(conn)
        .await?
        .into_iter()
        .filter(|p| {
            p.search_indexed_at.is_none()
                && p.compacted_at.is_none()
                && p.to_ts.timestamp_micros() <= sealed_before
                && p.to_ts.timestamp_micros() > young_after
        })
        .collect();
    pending.reverse();
    sqlx::query(&format!(
        "SET maintenance_work_mem = '{}kB'",
        (policy.index_build_memory / 1024).max(1024)
    ))
    .execute(&mut *conn)
    .await?;
    for p in pending {
        match build_search_index(conn, &p.name).await {
            Ok(()) => {
                tracing::info!(partition = %p.name, "search index built");
                report.indexed.push(p.name);
            }
            Err(e) => {
                tracing::warn!(partition = %p.name, error = %e, "search index not built; retrying on the next run");
                report.errors.push(format!("index {}: {e}", p.name));
                break;
            }
        }
    }
    sqlx::query("RESET maintenance_work_mem")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether pg_trgm is (or can be made) available; creating it needs the database owner, which
/// Heroku Postgres and the private cluster both give.
async fn trigram_available(conn: &mut PgConnection) -> bool {
    let present: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')")
            .fetch_one(&mut *conn)
            .await
            .unwrap_or(false);
    if present {
        return true;
    }
    match sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        .execute(&mut *conn)
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "pg_trgm unavailable: text search will scan instead of using an index");
            false
        }
    }
}

/// Builds one partition's index (dropping an invalid one a cut-short build left) and records it.
async fn build_search_index(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let index = format!("{name}_message_trgm");
    // A build cut short (shutdown, crash) leaves an invalid index behind: start over.
    sqlx::query(&format!("DROP INDEX IF EXISTS {index}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!(
        "CREATE INDEX CONCURRENTLY {index} ON {name} USING gin (message gin_trgm_ops)"
    ))
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE line_partitions SET search_indexed_at = now() WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
