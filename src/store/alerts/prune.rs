//! Bounded alert history, run by the maintenance task (`store::partitions`): each rule keeps
//! its newest state changes and finished notifications, a setting's worth
//! (`LOGDRAIN_ALERT_HISTORY_KEEP`); pending notifications are never pruned, they still have to
//! be sent.

use crate::store::StoreError;
use sqlx::PgConnection;

/// Deletes every rule's state changes and finished notifications past the newest `keep`.
/// Returns how many of each went.
///
/// Per rule, the cut-off row is found through the `(rule_id, at DESC)` and `(rule_id, id
/// DESC)` indexes (an `OFFSET keep` walk), so a run reads about `keep` index entries per rule
/// plus what it deletes, not the whole tables as a window over every row would.
pub(in crate::store) async fn prune_history(
    conn: &mut PgConnection,
    keep: u64,
) -> Result<(u64, u64), StoreError> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    // History is read newest first by (at, id): the row at offset `keep` and all after it go.
    let history = sqlx::query(
        "DELETE FROM alert_history h USING alert_rules r, LATERAL ( \
           SELECT at, id FROM alert_history WHERE rule_id = r.id \
           ORDER BY at DESC, id DESC OFFSET $1 LIMIT 1) cut \
         WHERE h.rule_id = r.id AND (h.at, h.id) <= (cut.at, cut.id)",
    )
    .bind(keep)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // Notifications are read newest first by id; only finished ones count and go.
    let deliveries = sqlx::query(
        "DELETE FROM alert_deliveries d USING alert_rules r, LATERAL ( \
           SELECT id FROM alert_deliveries WHERE rule_id = r.id AND status <> 'pending' \
           ORDER BY id DESC OFFSET $1 LIMIT 1) cut \
         WHERE d.rule_id = r.id AND d.id <= cut.id AND d.status <> 'pending'",
    )
    .bind(keep)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok((history, deliveries))
}
