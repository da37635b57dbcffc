//! The command line, as clap reads it: every flag has an env fallback and a doc comment that
//! becomes `--help`, and each subcommand has only the flags it uses (`logs` and `tail` know no
//! database). `config::load` is the one caller: it adds the `--config` file's settings
//! (`file.rs`) and turns these into validated settings.

use crate::units::{parse_bytes, parse_duration};
use clap::{Args, Parser, Subcommand, ValueEnum};

mod alerts;
mod file;
mod logs;

pub use alerts::AlertArgs;
pub use file::{alerts_table, rules_table, with_file_settings};
pub use logs::LogsArgs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// logdrain: a Heroku HTTPS log drain that stores every line, parsed and typed, in Postgres.
#[derive(Debug, Parser)]
#[command(name = "logdrain", version, about, long_about = None)]
pub struct Cli {
    /// A TOML file of settings (keys are the flag names with `_`, e.g. `max_body = "8MiB"`);
    /// flags and environment variables override it. See config/logdrain.example.toml.
    #[arg(long, env = "LOGDRAIN_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// How logdrain's own logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (for log pipelines).
    Json,
    /// Human-readable lines.
    Pretty,
}

/// What every command that opens the database takes: where it is, and how logdrain's own logs
/// are written.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Log output format of logdrain itself.
    #[arg(long, env = "LOGDRAIN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,

    /// Postgres URL (Heroku style; `?sslmode=require` is served by rustls). When absent, a
    /// private cluster is started from this machine's PostgreSQL binaries in --pg-data.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// Data directory of the private cluster used when DATABASE_URL is not set.
    #[arg(
        long,
        env = "LOGDRAIN_PG_DATA",
        default_value = ".logdrain/pgdata",
        global = true
    )]
    pub pg_data: PathBuf,

    /// Directory holding initdb and postgres, when they are not on PATH or in /usr/lib/postgresql.
    #[arg(long, env = "LOGDRAIN_PG_BIN", global = true)]
    pub pg_bin: Option<PathBuf>,

    /// OS user the private cluster runs as when logdrain runs as root (PostgreSQL refuses root).
    #[arg(
        long,
        env = "LOGDRAIN_PG_USER",
        default_value = "postgres",
        global = true
    )]
    pub pg_user: String,

    /// Database connection pool size.
    #[arg(long, env = "LOGDRAIN_DB_POOL", default_value_t = 16, global = true)]
    pub db_pool: u32,

    /// How long to wait for a database connection before answering 503.
    #[arg(long, env = "LOGDRAIN_DB_TIMEOUT", default_value = "2s", value_parser = parse_duration, global = true)]
    pub db_timeout: Duration,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the drain server (migrations are applied on start).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Manage apps and their drain / read tokens.
    Apps(AppsArgs),
    /// Manage space credentials: one OTLP token for every app of a Heroku space.
    Spaces(SpacesArgs),
    /// Print an app's lines as `heroku logs` does, from a logdrain server's query API.
    Logs(LogsArgs),
    /// Print the latest lines, then stream new ones as they arrive (`heroku logs --tail`).
    Tail(LogsArgs),
    /// Run maintenance once (partitions ahead, retention, search indexes, history pruning) and
    /// print what it did; `serve` does the same every LOGDRAIN_MAINTENANCE_EVERY.
    Maintain(MaintainArgs),
}

/// `logdrain apps …`: the database, and what to do.
#[derive(Debug, Args)]
pub struct AppsArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: AppsCommand,
}

/// `logdrain spaces …`: the database, and what to do.
#[derive(Debug, Args)]
pub struct SpacesArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: SpacesCommand,
}

/// `logdrain maintain`: the database and the maintenance policy.
#[derive(Debug, Args)]
pub struct MaintainArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
}

/// App management.
#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Create an app and print the `heroku drains:add` command to paste.
    Create {
        /// Heroku app name.
        name: String,
        /// Public base URL of this logdrain server, used in the printed drain URL.
        #[arg(
            long,
            env = "LOGDRAIN_PUBLIC_URL",
            default_value = "https://your-logdrain.herokuapp.com"
        )]
        url: String,
    },
    /// List apps with their line counts.
    List,
    /// Replace an app's drain token (or read token with --read) and print the new one.
    Rotate {
        /// Heroku app name.
        name: String,
        /// Rotate the read token for the query API instead of the drain token.
        #[arg(long)]
        read: bool,
        /// Public base URL of this logdrain server, used in the printed drain URL.
        #[arg(
            long,
            env = "LOGDRAIN_PUBLIC_URL",
            default_value = "https://your-logdrain.herokuapp.com"
        )]
        url: String,
    },
    /// Delete an app and every line it stored.
    Delete {
        /// Heroku app name.
        name: String,
    },
}

/// Space credentials for `heroku telemetry:add -s SPACE`: each record's `service.name` names
/// its app, created in the space on first use.
#[derive(Debug, Subcommand)]
pub enum SpacesCommand {
    /// Create a space credential and print the `heroku telemetry:add` command to paste.
    Create {
        /// Heroku space name.
        name: String,
        /// Public base URL of this logdrain server, used in the printed command.
        #[arg(
            long,
            env = "LOGDRAIN_PUBLIC_URL",
            default_value = "https://your-logdrain.herokuapp.com"
        )]
        url: String,
    },
    /// Replace a space's token and print the new command.
    Rotate {
        /// Heroku space name.
        name: String,
        /// Public base URL of this logdrain server, used in the printed command.
        #[arg(
            long,
            env = "LOGDRAIN_PUBLIC_URL",
            default_value = "https://your-logdrain.herokuapp.com"
        )]
        url: String,
    },
    /// Delete a space credential (its apps and their lines stay).
    Delete {
        /// Heroku space name.
        name: String,
    },
}

/// Settings of `logdrain serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// Port to listen on, on all interfaces (Heroku sets PORT). Overrides --listen.
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,

    /// Address to listen on when PORT is not set.
    #[arg(long, env = "LOGDRAIN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Shared drain token accepted for any app name; the app is created on first use (quick start).
    #[arg(long, env = "LOGDRAIN_DRAIN_TOKEN", hide_env_values = true)]
    pub drain_token: Option<String>,

    /// Server-wide read token for the query API (every app).
    #[arg(long, env = "LOGDRAIN_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Largest request body, before and after gzip decoding; larger gets 413.
    #[arg(long, env = "LOGDRAIN_MAX_BODY", default_value = "4MiB", value_parser = parse_bytes)]
    pub max_body: usize,

    /// Largest single octet-counted frame trusted; a larger one is stored raw.
    #[arg(long, env = "LOGDRAIN_MAX_FRAME", default_value = "256KiB", value_parser = parse_bytes)]
    pub max_frame: usize,

    /// Most attributes (resource and record together) kept as tags on one OTLP log line; the
    /// rest are counted in the tag `logdrain.attributes_left_out`.
    #[arg(long, env = "LOGDRAIN_OTLP_MAX_ATTRIBUTES", default_value_t = 128)]
    pub otlp_max_attributes: usize,

    /// Encoded lines that may wait for the database; beyond it requests get 503 + Retry-After.
    #[arg(long, env = "LOGDRAIN_QUEUE_BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub queue_bytes: usize,

    /// Encoded lines one app may have waiting or being written; past it that app's requests get
    /// 503 + Retry-After while other apps' are admitted, and a request larger than it gets 413.
    /// Default: a quarter of the queue, and at least 3 × --max-body.
    #[arg(long, env = "LOGDRAIN_APP_QUEUE_SHARE", value_parser = parse_bytes)]
    pub app_queue_share: Option<usize>,

    /// Requests of one app read and parsed at once; more wait (body unread) for a turn, at
    /// most LOGDRAIN_ACK_TIMEOUT, then get 503 + Retry-After. Other apps are not held up.
    #[arg(long, env = "LOGDRAIN_APP_CONCURRENCY", default_value_t = 4)]
    pub app_concurrency: usize,

    /// Most lines (frames) one request may hold; more gets 413 at once (Logplex sends at most
    /// about 1,025).
    #[arg(long, env = "LOGDRAIN_MAX_LINES", default_value_t = 20_000)]
    pub max_lines: usize,

    /// Most encoded bytes written in one transaction.
    #[arg(long, env = "LOGDRAIN_BATCH_BYTES", default_value = "8MiB", value_parser = parse_bytes)]
    pub batch_bytes: usize,

    /// Concurrent batch writers (each holds one database connection while writing).
    #[arg(long, env = "LOGDRAIN_WRITERS", default_value_t = 3)]
    pub writers: usize,

    /// How long a request waits for its lines to commit before answering 503 (Logplex waits 5 s).
    #[arg(long, env = "LOGDRAIN_ACK_TIMEOUT", default_value = "4s", value_parser = parse_duration)]
    pub ack_timeout: Duration,

    /// How long one query-API read may run before Postgres stops it and the request gets 503
    /// `query_timeout` (0s: never). Below the Heroku router's 30 s, after which the answer is lost.
    #[arg(long, env = "LOGDRAIN_QUERY_TIMEOUT", default_value = "25s", value_parser = parse_duration)]
    pub query_timeout: Duration,

    /// Retry-After sent with 503.
    #[arg(long, env = "LOGDRAIN_RETRY_AFTER", default_value = "1s", value_parser = parse_duration)]
    pub retry_after: Duration,

    /// How long app credentials are cached before the database is asked again.
    #[arg(long, env = "LOGDRAIN_AUTH_CACHE_TTL", default_value = "30s", value_parser = parse_duration)]
    pub auth_cache_ttl: Duration,

    /// How long a sign-in to the pages lasts before the read token must be entered again.
    #[arg(long, env = "LOGDRAIN_SESSION_TTL", default_value = "12h", value_parser = parse_duration)]
    pub session_ttl: Duration,

    /// Time allowed on shutdown for in-flight requests and the final flush (Heroku gives 30 s).
    #[arg(long, env = "LOGDRAIN_SHUTDOWN_GRACE", default_value = "25s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Serve HTTPS with this PEM certificate chain (with --tls-key); reloaded on SIGHUP or when
    /// the file changes.
    #[arg(long, env = "LOGDRAIN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key for --tls-cert.
    #[arg(long, env = "LOGDRAIN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Keep-alive: how long a connection may wait between requests for its next complete head
    /// (Logplex reuses connections); a head under way is bounded by --head-timeout.
    #[arg(long, env = "LOGDRAIN_IDLE_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// How long a request head may take once its first byte has arrived; a slower client is
    /// disconnected (idle keep-alive between requests is bounded by --idle-timeout instead).
    #[arg(long, env = "LOGDRAIN_HEAD_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub head_timeout: Duration,

    /// Connections that have not yet sent a complete request head; past it the oldest of them is
    /// closed, so slow clients cannot use up --max-connections.
    #[arg(long, env = "LOGDRAIN_MAX_PENDING_HEADS", default_value_t = 256)]
    pub max_pending_heads: usize,

    /// How long a request body may take to arrive; slower gets 503 (so Logplex retries).
    #[arg(long, env = "LOGDRAIN_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Connections served at once; more get 503 with Retry-After and are closed.
    #[arg(long, env = "LOGDRAIN_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    #[command(flatten)]
    pub retention: RetentionArgs,

    #[command(flatten)]
    pub alerts: AlertArgs,

    /// How often the maintenance task runs (partitions ahead, retention, search indexes).
    #[arg(long, env = "LOGDRAIN_MAINTENANCE_EVERY", default_value = "5m", value_parser = parse_duration)]
    pub maintenance_every: Duration,

    /// How often the rows each batch adds to the stats rollups are merged into one per bucket
    /// and group (between merges, reads of the current minute, hour and day add them up).
    #[arg(long, env = "LOGDRAIN_ROLLUP_MERGE_EVERY", default_value = "30s", value_parser = parse_duration)]
    pub rollup_merge_every: Duration,
}

/// Partitions and retention; shared by `serve` and `maintain`.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Keep lines this long (e.g. 30d); older partitions are dropped whole. Unset: no age limit.
    #[arg(long, env = "LOGDRAIN_RETENTION", value_parser = parse_duration)]
    pub retention: Option<Duration>,

    /// Database size budget (e.g. 900MB on a 1 GB plan): the oldest partitions are dropped
    /// while the database is larger. Unset: no size limit.
    #[arg(long, env = "LOGDRAIN_MAX_DB_SIZE", value_parser = parse_bytes)]
    pub max_db_size: Option<usize>,

    /// Time span of one partition of lines: 1h, 2h, 3h, 4h, 6h, 8h, 12h or 1d.
    #[arg(long, env = "LOGDRAIN_PARTITION_INTERVAL", default_value = "1d", value_parser = parse_duration)]
    pub partition_interval: Duration,

    /// Build a trigram search index on each partition once its time is past (needs pg_trgm).
    #[arg(long, env = "LOGDRAIN_SEARCH_INDEX", default_value_t = true, action = clap::ArgAction::Set)]
    pub search_index: bool,

    /// Only partitions younger than this get a search index (e.g. 7d; older ones are scanned,
    /// which saves their index's disk space). Unset: every partition.
    #[arg(long, env = "LOGDRAIN_SEARCH_INDEX_AGE", value_parser = parse_duration)]
    pub search_index_age: Option<Duration>,

    /// Memory for building a search index (Postgres maintenance_work_mem for that session).
    #[arg(long, env = "LOGDRAIN_INDEX_BUILD_MEMORY", default_value = "128MiB", value_parser = parse_bytes)]
    pub index_build_memory: usize,

    /// Rewrite a partition into the compact tier (about 10× smaller, still exact) this long
    /// after its end; late lines arriving after that are kept in the default partition. 0:
    /// never compact (partitions then get the search index instead).
    #[arg(long, env = "LOGDRAIN_COMPACT_AFTER", default_value = "1h", value_parser = parse_duration)]
    pub compact_after: Duration,
    /// State changes and finished notifications kept per alert rule: maintenance deletes all
    /// but the newest this many (pending notifications are always kept).
    #[arg(long, env = "LOGDRAIN_ALERT_HISTORY_KEEP", default_value_t = 1000)]
    pub alert_history_keep: u64,
    /// Keep the per-minute rollups by path, dyno, method and host this long; after that,
    /// `/stats/requests?by=path|dyno|method|host` reads the sub-hour edges of a range from the
    /// lines (whole hours still come from rollups). 0: keep them as long as the lines.
    #[arg(long, env = "LOGDRAIN_KEYED_MINUTES_KEEP", default_value = "1d", value_parser = parse_duration)]
    pub keyed_minutes_keep: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text `logdrain <words> --help` prints.
    fn help(words: &[&str]) -> String {
        let mut argv = vec!["logdrain"];
        argv.extend_from_slice(words);
        argv.push("--help");
        match Cli::try_parse_from(argv) {
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.to_string(),
            other => panic!("{words:?} --help did not print help: {other:?}"),
        }
    }

    const DATABASE_FLAGS: [&str; 7] = [
        "--database-url",
        "--pg-data",
        "--pg-bin",
        "--pg-user",
        "--db-pool",
        "--db-timeout",
        "--log-format",
    ];

    #[test]
    fn each_command_s_help_lists_only_the_flags_it_uses() {
        for client in ["logs", "tail"] {
            let text = help(&[client]);
            for flag in DATABASE_FLAGS {
                assert!(
                    !text.contains(flag),
                    "`{client} --help` shows {flag}:\n{text}"
                );
            }
            for flag in ["--app", "--token", "--url", "--config"] {
                assert!(
                    text.contains(flag),
                    "`{client} --help` lacks {flag}:\n{text}"
                );
            }
            assert!(!text.contains("--max-body"), "{text}");
        }
        for db_command in [
            &["serve"][..],
            &["migrate"],
            &["apps", "create"],
            &["maintain"],
        ] {
            let text = help(db_command);
            for flag in DATABASE_FLAGS {
                assert!(
                    text.contains(flag),
                    "`{db_command:?} --help` lacks {flag}:\n{text}"
                );
            }
            assert!(!text.contains("--token"), "{db_command:?}: {text}");
        }
        assert!(help(&["serve"]).contains("--max-body"));
        for other in [&["migrate"][..], &["apps", "list"], &["maintain"]] {
            let text = help(other);
            assert!(!text.contains("--max-body"), "{other:?}: {text}");
            assert!(!text.contains("--api-token"), "{other:?}: {text}");
        }
        assert!(help(&["maintain"]).contains("--retention"));
        assert!(!help(&["migrate"]).contains("--retention"));
    }
}
