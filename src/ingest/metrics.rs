//! Counters of the ingest path, bumped per request and per batch (never per line), rendered in
//! Prometheus text format by `GET /metrics`.

use crate::record::RuleEvent;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds (seconds) of the commit latency histogram.
const COMMIT_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];
/// Upper bounds of the rows-per-batch histogram.
const ROW_BUCKETS: [u64; 6] = [10, 100, 1_000, 10_000, 100_000, 1_000_000];

/// Counters shared by the handlers and the writers.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests answered 204.
    pub requests_accepted: AtomicU64,
    /// Requests answered 503 (queue full, database down, shutting down).
    pub requests_unavailable: AtomicU64,
    /// Lines parsed out of request bodies.
    pub lines_received: AtomicU64,
    /// Lines that did not parse as syslog and were stored raw.
    pub parse_fallbacks: AtomicU64,
    lines_stored: AtomicU64,
    frames_deduplicated: AtomicU64,
    batches: AtomicU64,
    batches_failed: AtomicU64,
    commit_buckets: [AtomicU64; COMMIT_BUCKETS.len()],
    commit_micros_sum: AtomicU64,
    row_buckets: [AtomicU64; ROW_BUCKETS.len()],
    /// Requests at the write queue's door per (app id, what became of them).
    admissions: std::sync::Mutex<std::collections::BTreeMap<(i64, super::Admission), u64>>,
    /// Ingest-rule counts per (app id, rule, action), bumped once per stored request.
    rules: std::sync::Mutex<std::collections::BTreeMap<(i64, String, &'static str), u64>>,
}

impl Metrics {
    /// Records one committed batch.
    pub fn record_batch(&self, rows: u64, duplicates: u64, commit: Duration) {
        self.lines_stored.fetch_add(rows, Relaxed);
        self.frames_deduplicated.fetch_add(duplicates, Relaxed);
        self.batches.fetch_add(1, Relaxed);
        for (bucket, bound) in self.row_buckets.iter().zip(ROW_BUCKETS) {
            if rows <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        let secs = commit.as_secs_f64();
        for (bucket, bound) in self.commit_buckets.iter().zip(COMMIT_BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.commit_micros_sum.fetch_add(
            u64::try_from(commit.as_micros()).unwrap_or(u64::MAX),
            Relaxed,
        );
    }

    /// Adds what the ingest rules did to one stored request.
    pub fn record_rules(&self, app_id: i64, events: &[RuleEvent]) {
        if events.is_empty() {
            return;
        }
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        for event in events {
            *rules
                .entry((app_id, event.rule.clone(), event.action.as_str()))
                .or_default() += u64::try_from(event.count).unwrap_or(0);
        }
    }

    /// Counts one request admitted to (or refused by) the write queue.
    pub fn record_admission(&self, app_id: i64, admission: super::Admission) {
        let mut admissions = self.admissions.lock().unwrap_or_else(|e| e.into_inner());
        *admissions.entry((app_id, admission)).or_default() += 1;
    }

    /// Records a batch whose transaction failed.
    pub fn record_failed_batch(&self) {
        self.batches_failed.fetch_add(1, Relaxed);
    }

    /// Prometheus text exposition, with the queue depth (in all and per app id) read at the
    /// time of the scrape.
    pub fn render(&self, queue_depth_bytes: usize, per_app: &[(i64, usize)]) -> String {
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "logdrain_requests_accepted_total",
            "Drain requests answered 204.",
            self.requests_accepted.load(Relaxed),
        );
        counter(
            "logdrain_requests_unavailable_total",
            "Drain requests answered 503.",
            self.requests_unavailable.load(Relaxed),
        );
        counter(
            "logdrain_lines_received_total",
            "Lines parsed from drain requests.",
            self.lines_received.load(Relaxed),
        );
        counter(
            "logdrain_lines_stored_total",
            "Lines committed to Postgres.",
            self.lines_stored.load(Relaxed),
        );
        counter(
            "logdrain_frames_deduplicated_total",
            "Retried frames answered from the ledger.",
            self.frames_deduplicated.load(Relaxed),
        );
        counter(
            "logdrain_parse_fallbacks_total",
            "Lines stored raw because they did not parse.",
            self.parse_fallbacks.load(Relaxed),
        );
        counter(
            "logdrain_batches_total",
            "Batches committed.",
            self.batches.load(Relaxed),
        );
        counter(
            "logdrain_batches_failed_total",
            "Batches whose transaction failed.",
            self.batches_failed.load(Relaxed),
        );
        let _ = writeln!(
            s,
            "# HELP logdrain_queue_depth_bytes Encoded bytes waiting for the database.\n# TYPE logdrain_queue_depth_bytes gauge\nlogdrain_queue_depth_bytes {queue_depth_bytes}"
        );
        let name = "logdrain_commit_duration_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} Time to write and commit one batch.\n# TYPE {name} histogram"
        );
        for (bucket, bound) in self.commit_buckets.iter().zip(COMMIT_BUCKETS) {
            let _ = writeln!(
                s,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.batches.load(Relaxed);
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            s,
            "{name}_sum {}",
            self.commit_micros_sum.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "{name}_count {count}");
        let name = "logdrain_batch_rows";
        let _ = writeln!(
            s,
            "# HELP {name} Lines written per committed batch.\n# TYPE {name} histogram"
        );
        for (bucket, bound) in self.row_buckets.iter().zip(ROW_BUCKETS) {
            let _ = writeln!(
                s,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(s, "{name}_sum {}", self.lines_stored.load(Relaxed));
        let _ = writeln!(s, "{name}_count {count}");
        let name = "logdrain_app_queue_bytes";
        let _ = writeln!(
            s,
            "# HELP {name} Encoded bytes an app has waiting for or being written to the database \
             (at most LOGDRAIN_APP_QUEUE_SHARE).\n# TYPE {name} gauge"
        );
        for (app_id, bytes) in per_app {
            let _ = writeln!(s, "{name}{{app_id=\"{app_id}\"}} {bytes}");
        }
        let name = "logdrain_app_admissions_total";
        let _ = writeln!(
            s,
            "# HELP {name} Drain requests at the write queue, per app: admitted, or refused \
             over_share (503), busy (503: no turn in time), queue_full (503) or too_large (413).\n# TYPE {name} counter"
        );
        let admissions = self.admissions.lock().unwrap_or_else(|e| e.into_inner());
        for ((app_id, result), n) in admissions.iter() {
            let _ = writeln!(
                s,
                "{name}{{app_id=\"{app_id}\",result=\"{}\"}} {n}",
                result.as_str()
            );
        }
        drop(admissions);
        let name = "logdrain_rule_events_total";
        let _ = writeln!(
            s,
            "# HELP {name} Lines dropped or sampled out, and values redacted, by ingest rules.\n\
             # TYPE {name} counter"
        );
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        for ((app_id, rule, action), n) in rules.iter() {
            let _ = writeln!(
                s,
                "{name}{{app_id=\"{app_id}\",rule=\"{}\",action=\"{action}\"}} {n}",
                label(rule)
            );
        }
        s
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
