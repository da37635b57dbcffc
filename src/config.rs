//! Validated settings. The CLI (`cli.rs`) reads flags and env vars; this module holds the typed
//! values they become (durations, byte sizes, secrets that never print), checked once.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A secret (token, password-bearing URL) that never appears in `Debug` or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must compare or use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the database comes from.
#[derive(Debug, Clone)]
pub enum Database {
    /// An existing server (`DATABASE_URL`), e.g. Heroku Postgres.
    Url(Secret),
    /// A private cluster started from the machine's own PostgreSQL binaries.
    Private {
        /// The cluster's data directory (kept across restarts).
        data_dir: PathBuf,
        /// Where initdb/postgres live, when not on PATH or in /usr/lib/postgresql.
        bin_dir: Option<PathBuf>,
        /// The OS user the cluster runs as when logdrain runs as root.
        run_as: String,
    },
}

/// Database settings shared by every command.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Where the database is.
    pub database: Database,
    /// Pool size.
    pub pool_size: u32,
    /// How long to wait for a connection before answering 503.
    pub acquire_timeout: Duration,
}

/// Everything `logdrain serve` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Database settings.
    pub db: DbConfig,
    /// Quick-start shared drain token: accepted for any app name, which is created on first use.
    pub drain_token: Option<Secret>,
    /// Server-wide read token for the query API.
    pub api_token: Option<Secret>,
    /// Largest request body accepted (after gzip decoding too); larger gets 413.
    pub max_body_bytes: usize,
    /// Largest single octet-counted frame trusted; larger ones are stored raw.
    pub max_frame_bytes: usize,
    /// Encoded bytes that may wait for the database before new requests get 503.
    pub queue_bytes: usize,
    /// Most COPY bytes written in one transaction.
    pub batch_bytes: usize,
    /// Concurrent batch writers (database connections used for ingest).
    pub writers: usize,
    /// How long a request waits for its lines to commit before answering 503 (Logplex gives up at 5 s).
    pub ack_timeout: Duration,
    /// How long one query-API read may run in Postgres (zero: unbounded).
    pub query_timeout: Duration,
    /// Value of the `Retry-After` header on 503.
    pub retry_after: Duration,
    /// How long cached app credentials are trusted before the database is asked again.
    pub auth_cache_ttl: Duration,
    /// Time allowed for in-flight requests and the final flush on shutdown.
    pub shutdown_grace: Duration,
    /// Serve HTTPS with these files, when set.
    pub tls: Option<TlsFiles>,
    /// Idle keep-alive connections (and unfinished request heads) are closed after this long.
    pub idle_timeout: Duration,
    /// Longest a request body may take to arrive.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Partitions, retention and search indexes.
    pub maintenance: crate::store::partitions::Policy,
    /// How often the maintenance task runs.
    pub maintenance_every: Duration,
    /// Ingest rules (`[rules]` of the config file), compiled once.
    pub rules: std::sync::Arc<crate::rules::Rules>,
}

/// PEM files for serving HTTPS directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: std::path::PathBuf,
}

/// A value that failed validation: names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    /// The flag / env var at fault.
    pub setting: &'static str,
    /// What is wrong with it.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_debug_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
