//! sqlx lives here and nowhere else: connecting (to `DATABASE_URL` or a private cluster),
//! migrations, the batch writer, partitions, app management, and the query API's reads with
//! the filters they take (`filter`). The bottom of both flows: it imports only the shared
//! vocabulary (`record`).

pub mod alerts;
pub mod apps;
pub mod compact;
pub mod copy;
pub mod filter;
pub mod notify;
pub mod partitions;
pub mod pgcluster;
pub mod read;
pub mod rollup;
pub mod sessions;
pub mod spaces;
mod write;

/// The LISTEN/NOTIFY channel on which the writers announce committed lines (payload: app id).
pub const LINES_CHANNEL: &str = "logdrain_lines";

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

pub use write::{Job, JobOutcome};

/// Errors of the storage layer. Ingest answers every one of them with `503` so Logplex retries.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Postgres could not be reached in time (pool timeout, connection refused, TLS failure).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Postgres answered with an error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// An API read ran past its statement timeout (`LOGDRAIN_QUERY_TIMEOUT`) and Postgres
    /// cancelled it.
    #[error("the query ran longer than LOGDRAIN_QUERY_TIMEOUT ({}s) and was stopped", .0.as_secs_f64())]
    QueryTimeout(Duration),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            other => StoreError::Database(other),
        }
    }
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Maximum connections in the pool (writers + API readers).
    pub max_connections: u32,
    /// How long a caller may wait for a connection before the request is answered 503.
    pub acquire_timeout: Duration,
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
    /// The `statement_timeout` of the query API's reads (`None`: unbounded).
    query_timeout: Option<Duration>,
    /// Whether the aggregates read whole minutes, hours and days from the rollups (the
    /// default) or every line (the reference the rollups are tested and measured against).
    rollup_reads: bool,
}

impl Store {
    /// Connects a pool. A Heroku-style URL works as is; `sslmode=require` is served by rustls.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(StoreError::Database)?
            .application_name("logdrain")
            // JIT compilation costs ~170 ms per aggregate over a day of lines and saves less:
            // the queries here are index range scans, not analytics over whole tables.
            .options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            query_timeout: None,
            rollup_reads: true,
        })
    }

    /// Wraps an existing pool (tests).
    pub fn from_pool(pool: PgPool) -> Store {
        Store {
            pool,
            query_timeout: None,
            rollup_reads: true,
        }
    }

    /// The same store, whose query-API reads Postgres stops after `timeout` (zero: never).
    /// Writers, maintenance and index builds are never bounded by it.
    pub fn with_query_timeout(mut self, timeout: Duration) -> Store {
        self.query_timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// The same store, whose aggregates read every line instead of the rollups (`false`):
    /// the reference answer that tests and the query bench compare the rollups with.
    pub fn with_rollup_reads(mut self, on: bool) -> Store {
        self.rollup_reads = on;
        self
    }

    /// The underlying pool, for the query layer.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations (idempotent; safe with several processes starting).
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        sqlx::migrate!("./migrations").run(&self.pool).await
    }

    /// Whether Postgres answers a trivial query right now.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes every connection; the last step of shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
