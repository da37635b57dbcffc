//! The batch writer: one transaction per batch holding the frame ledger, one binary COPY of
//! every new line, the per-app counters and the loss events. Either all of it commits or none.

use super::copy::{COPY_HEADER, COPY_TRAILER, LINE_COLUMNS};
use super::rollup::Rollup;
use super::{Store, StoreError, LINES_CHANNEL};
use crate::record::RuleEvent;
use std::collections::{BTreeMap, HashSet};

/// One request's worth of lines, already encoded as COPY tuples by the handler.
#[derive(Debug)]
pub struct Job {
    /// The app the lines belong to.
    pub app_id: i64,
    /// `Logplex-Frame-Id`, the dedupe key; `None` for senders that have none (Shield).
    pub frame_id: Option<String>,
    /// Binary COPY tuples (no header, no trailer).
    pub rows: Vec<u8>,
    /// How many tuples `rows` holds.
    pub lines: u32,
    /// Messages the body's L10/L12/L13 lines reported lost.
    pub dropped: u64,
    /// `Logplex-Msg-Count` minus the parsed count, when the header was present and disagreed.
    pub msg_count_mismatch: Option<i64>,
    /// Last frames whose count ran past the body, stored from the message that was there.
    pub frame_length_mismatches: u32,
    /// `Logplex-Drain-Token` header, recorded on the app.
    pub logplex_drain_token: Option<String>,
    /// What the ingest rules did, per rule and action.
    pub rule_events: Vec<RuleEvent>,
    /// What the lines add to the stats rollups, written in the same transaction.
    pub rollup: Rollup,
}

/// What became of one job in a committed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Its lines are committed.
    Stored,
    /// Its frame id was already in the ledger: nothing was written again.
    Duplicate,
}

impl Store {
    /// Writes a batch in one transaction and says, per job, whether it was new or a retry.
    pub async fn write_batch(&self, jobs: &[Job]) -> Result<Vec<JobOutcome>, StoreError> {
        let mut outcomes = vec![JobOutcome::Stored; jobs.len()];

        // Ledger keys in a fixed order, so concurrent writers cannot deadlock on them; the
        // first job of a key within the batch owns it, later ones are duplicates.
        let mut keyed: BTreeMap<(i64, &str), usize> = BTreeMap::new();
        for (i, job) in jobs.iter().enumerate() {
            if let Some(fid) = job.frame_id.as_deref() {
                match keyed.entry((job.app_id, fid)) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        outcomes[i] = JobOutcome::Duplicate;
                    }
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(i);
                    }
                }
            }
        }

        let mut tx = self.pool.begin().await?;

        if !keyed.is_empty() {
            let app_ids: Vec<i64> = keyed.keys().map(|(a, _)| *a).collect();
            let frame_ids: Vec<&str> = keyed.keys().map(|(_, f)| *f).collect();
            let counts: Vec<i32> = keyed
                .values()
                .map(|&i| i32::try_from(jobs[i].lines).unwrap_or(i32::MAX))
                .collect();
            let inserted: Vec<(i64, String)> = sqlx::query_as(
                "INSERT INTO frames (app_id, frame_id, lines) \
                 SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int4[]) \
                 ON CONFLICT DO NOTHING RETURNING app_id, frame_id",
            )
            .bind(&app_ids)
            .bind(&frame_ids)
            .bind(&counts)
            .fetch_all(&mut *tx)
            .await?;
            let new: HashSet<(i64, &str)> =
                inserted.iter().map(|(a, f)| (*a, f.as_str())).collect();
            for (key, &i) in &keyed {
                if !new.contains(key) {
                    outcomes[i] = JobOutcome::Duplicate;
                }
            }
        }

        let stored = || {
            jobs.iter()
                .zip(&outcomes)
                .filter(|(_, o)| **o == JobOutcome::Stored)
                .map(|(j, _)| j)
        };

        if stored().any(|j| j.lines > 0) {
            let mut copy = tx
                .copy_in_raw(&format!(
                    "COPY lines ({LINE_COLUMNS}) FROM STDIN (FORMAT binary)"
                ))
                .await?;
            // One CopyData message for the whole batch: fewer writes than one per job.
            let total = COPY_HEADER.len()
                + COPY_TRAILER.len()
                + stored().map(|j| j.rows.len()).sum::<usize>();
            let mut data = Vec::with_capacity(total);
            data.extend_from_slice(COPY_HEADER);
            for job in stored() {
                data.extend_from_slice(&job.rows);
            }
            data.extend_from_slice(COPY_TRAILER);
            copy.send(data).await?;
            copy.finish().await?;
        }

        // The rollups of the stored jobs only: a duplicate's lines were counted the first time.
        let mut rollup = Rollup::default();
        for job in stored() {
            rollup.absorb(&job.rollup);
        }
        if !rollup.is_empty() {
            super::rollup::insert(&mut tx, &rollup).await?;
        }

        // Wake the tails of every app that got lines, in this process and every other one
        // sharing the database: NOTIFY is delivered when (and only if) the transaction commits.
        let woken: Vec<i64> = {
            let mut ids: Vec<i64> = stored().filter(|j| j.lines > 0).map(|j| j.app_id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        if !woken.is_empty() {
            sqlx::query("SELECT pg_notify($1, a::text) FROM UNNEST($2::int8[]) AS t(a)")
                .bind(LINES_CHANNEL)
                .bind(&woken)
                .execute(&mut *tx)
                .await?;
        }

        // Per-app counters, sorted by app id (lock order).
        let mut per_app: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for job in jobs {
            per_app.entry(job.app_id).or_default();
        }
        for job in stored() {
            let e = per_app.entry(job.app_id).or_default();
            e.0 += i64::from(job.lines);
            e.1 += i64::try_from(job.dropped).unwrap_or(i64::MAX);
        }
        let apps: Vec<i64> = per_app.keys().copied().collect();
        let lines: Vec<i64> = per_app.values().map(|v| v.0).collect();
        let dropped: Vec<i64> = per_app.values().map(|v| v.1).collect();
        sqlx::query(
            "INSERT INTO app_counters (app_id, lines, dropped, last_seen_at) \
             SELECT a, l, d, now() FROM UNNEST($1::int8[], $2::int8[], $3::int8[]) AS t(a, l, d) \
             ON CONFLICT (app_id) DO UPDATE SET lines = app_counters.lines + excluded.lines, \
             dropped = app_counters.dropped + excluded.dropped, last_seen_at = excluded.last_seen_at",
        )
        .bind(&apps)
        .bind(&lines)
        .bind(&dropped)
        .execute(&mut *tx)
        .await?;

        // Loss events: what Logplex reported lost, count mismatches, overrunning last frames and
        // answered retries.
        let mut ev_app = Vec::new();
        let mut ev_kind = Vec::new();
        let mut ev_count = Vec::new();
        let mut ev_frame = Vec::new();
        for (job, outcome) in jobs.iter().zip(&outcomes) {
            let mut push = |kind: &'static str, count: i64| {
                ev_app.push(job.app_id);
                ev_kind.push(kind);
                ev_count.push(count);
                ev_frame.push(job.frame_id.as_deref());
            };
            match outcome {
                JobOutcome::Duplicate => push("duplicate_frame", 1),
                JobOutcome::Stored => {
                    if job.dropped > 0 {
                        push("dropped", i64::try_from(job.dropped).unwrap_or(i64::MAX));
                    }
                    if let Some(diff) = job.msg_count_mismatch {
                        push("msg_count_mismatch", diff);
                    }
                    if job.frame_length_mismatches > 0 {
                        push(
                            "frame_length_mismatch",
                            i64::from(job.frame_length_mismatches),
                        );
                    }
                }
            }
        }
        if !ev_app.is_empty() {
            sqlx::query(
                "INSERT INTO loss_events (app_id, event, count, frame_id) \
                 SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::text[])",
            )
            .bind(&ev_app)
            .bind(&ev_kind)
            .bind(&ev_count)
            .bind(&ev_frame)
            .execute(&mut *tx)
            .await?;
        }

        // Rule events of the jobs stored now (a duplicate's were counted the first time).
        let mut re_app = Vec::new();
        let mut re_rule = Vec::new();
        let mut re_action = Vec::new();
        let mut re_count = Vec::new();
        for (job, outcome) in jobs.iter().zip(&outcomes) {
            if *outcome == JobOutcome::Stored {
                for event in &job.rule_events {
                    re_app.push(job.app_id);
                    re_rule.push(event.rule.as_str());
                    re_action.push(event.action.as_str());
                    re_count.push(event.count);
                }
            }
        }
        if !re_app.is_empty() {
            sqlx::query(
                "INSERT INTO rule_events (app_id, rule, action, count) \
                 SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int8[])",
            )
            .bind(&re_app)
            .bind(&re_rule)
            .bind(&re_action)
            .bind(&re_count)
            .execute(&mut *tx)
            .await?;
        }

        // The Logplex drain token changes only when a drain is re-added: update on change only.
        let mut tokens: BTreeMap<i64, &str> = BTreeMap::new();
        for job in jobs {
            if let Some(t) = job.logplex_drain_token.as_deref() {
                tokens.insert(job.app_id, t);
            }
        }
        if !tokens.is_empty() {
            let ids: Vec<i64> = tokens.keys().copied().collect();
            let toks: Vec<&str> = tokens.values().copied().collect();
            sqlx::query(
                "UPDATE apps SET logplex_drain_token = t.tok \
                 FROM UNNEST($1::int8[], $2::text[]) AS t(id, tok) \
                 WHERE apps.id = t.id AND apps.logplex_drain_token IS DISTINCT FROM t.tok",
            )
            .bind(&ids)
            .bind(&toks)
            .execute(&mut *tx)
            .await?;
        }

        tx.commit().await?;
        Ok(outcomes)
    }
}
