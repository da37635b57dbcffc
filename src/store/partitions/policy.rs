//! What a maintenance run is told to keep and build ([`Policy`]), and what it did
//! ([`Report`], with [`DropReason`] per dropped partition).

use std::time::Duration;

/// What maintenance keeps and builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Width of one partition; divides a day, so partitions align to UTC midnight.
    pub interval: Duration,
    /// Drop partitions whose newest possible line is older than this.
    pub max_age: Option<Duration>,
    /// Drop the oldest partitions while the database is larger than this many bytes.
    pub max_db_bytes: Option<u64>,
    /// Build a trigram index on `message` for each sealed partition (needs pg_trgm).
    pub search_index: bool,
    /// Only partitions younger than this get a search index (older ones are scanned).
    pub search_index_max_age: Option<Duration>,
    /// `maintenance_work_mem` for index builds, in bytes (GIN builds are much faster with more).
    pub index_build_memory: u64,
    /// Rewrite a partition into the compact tier this long after its end (`None`: never).
    /// Compacted partitions need no search index, so none is built while this is set.
    pub compact_after: Option<Duration>,
    /// State changes and finished notifications kept per alert rule (the newest).
    pub alert_history_keep: u64,
    /// How long minute rollups by path, dyno, method and host are kept (older sub-hour edges
    /// of those groupings are read from the lines); `None`: for as long as the lines.
    pub keyed_minutes_keep: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            interval: Duration::from_secs(86_400),
            max_age: None,
            max_db_bytes: None,
            search_index: true,
            search_index_max_age: None,
            index_build_memory: 128 << 20,
            compact_after: None,
            alert_history_keep: 1000,
            keyed_minutes_keep: Some(Duration::from_secs(86_400)),
        }
    }
}

/// Why a partition was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Older than the retention period.
    Age,
    /// The database was over its size budget.
    Size,
}

impl DropReason {
    /// `age` or `size`.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Age => "age",
            DropReason::Size => "size",
        }
    }
}

/// What one maintenance run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// False when another process held the lock, so this run did nothing.
    pub ran: bool,
    /// Partitions created.
    pub created: Vec<String>,
    /// Partitions dropped and why.
    pub dropped: Vec<(String, DropReason)>,
    /// Partitions that got their search index.
    pub indexed: Vec<String>,
    /// Partitions rewritten into the compact tier, and their lines.
    pub compacted: Vec<String>,
    /// Lines of the partitions compacted in this run.
    pub compacted_lines: i64,
    /// Lines moved from the default partition into a new partition.
    pub strays_moved: u64,
    /// Lines in the default partition deleted for being older than the retention period.
    pub strays_deleted: u64,
    /// Frame-ledger entries pruned.
    pub frames_pruned: u64,
    /// Rollup rows merged away (rows batches added, folded into one per bucket and group).
    pub rollups_merged: u64,
    /// Minute rollup rows by path, dyno, method and host deleted for being older than
    /// `LOGDRAIN_KEYED_MINUTES_KEEP`.
    pub keyed_minute_rollups_deleted: u64,
    /// Request-id Bloom ranges of row partitions summarized by this run (autovacuum
    /// summarizes most of them first).
    pub id_ranges_summarized: i64,
    /// Alert state changes pruned (past the newest `alert_history_keep` of their rule).
    pub alert_history_pruned: u64,
    /// Finished alert notifications pruned (likewise).
    pub alert_deliveries_pruned: u64,
    /// Database size after the run.
    pub db_bytes: i64,
    /// Set when the size budget could not be met.
    pub warning: Option<String>,
    /// Steps that failed (e.g. a lock not granted in time); retried on the next run.
    pub errors: Vec<String>,
}
