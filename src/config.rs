//! Validated settings, finished in one place: [`load`] turns the command line, the
//! environment and the `--config` file (flag > env > file > default; clap's structs are in
//! `cli.rs`) into the settings of one command, every value checked and the ingest rules
//! compiled. Nothing else reads environment variables; `main` only dispatches on the result.

use crate::cli::{
    alerts_table, rules_table, with_file_settings, AlertArgs, AppsCommand, Cli, Command, DbArgs,
    LogFormat, LogsArgs, RetentionArgs, ServeArgs, SpacesCommand,
};
use crate::client::LogsRequest;
use crate::rules::Rules;
use crate::store::partitions::{check_interval, Policy};
use clap::Parser as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::secret::Secret;

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
    /// Most attributes kept as tags on one OTLP log line.
    pub otlp_max_attributes: usize,
    /// Encoded bytes that may wait for the database before new requests get 503.
    pub queue_bytes: usize,
    /// Encoded bytes one app may hold in the queue; a request larger than this gets 413.
    pub app_queue_share: usize,
    /// Most lines (frames) one request may hold; more gets 413 before any parsing.
    pub max_lines: usize,
    /// Requests of one app read and parsed at once.
    pub app_concurrency: usize,
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
    /// How long a page sign-in session lasts.
    pub session_ttl: Duration,
    /// Time allowed for in-flight requests and the final flush on shutdown.
    pub shutdown_grace: Duration,
    /// Serve HTTPS with these files, when set.
    pub tls: Option<TlsFiles>,
    /// Idle keep-alive connections (and unfinished request heads) are closed after this long.
    pub idle_timeout: Duration,
    /// A request head must be complete this long after its first byte.
    pub head_timeout: Duration,
    /// Connections without a complete request head; past it the oldest is closed.
    pub max_pending_heads: usize,
    /// Longest a request body may take to arrive.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Partitions, retention and search indexes.
    pub maintenance: Policy,
    /// How often the maintenance task runs.
    pub maintenance_every: Duration,
    /// How often the stats rollups' batch rows are merged.
    pub rollup_merge_every: Duration,
    /// Ingest rules (`[rules]` of the config file), compiled once.
    pub rules: Arc<Rules>,
    /// How alert rules are evaluated and notifications sent.
    pub alerts: crate::alerts::Settings,
    /// The config file's `[[alerts]]`, validated; stored (replacing the previous file's) at
    /// start.
    pub alert_rules: Vec<crate::alerts::Rule>,
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

/// One command and its validated settings: what `main` dispatches on.
#[derive(Debug)]
pub struct Settings {
    /// How logdrain's own logs are written (`pretty` for the client commands).
    pub log_format: LogFormat,
    /// The command.
    pub task: Task,
}

/// What to run, with everything it needs.
#[derive(Debug)]
pub enum Task {
    /// `logdrain serve`.
    Serve(Box<ServeConfig>),
    /// `logdrain migrate`.
    Migrate(DbConfig),
    /// `logdrain apps …`.
    Apps(DbConfig, AppsCommand),
    /// `logdrain spaces …`.
    Spaces(DbConfig, SpacesCommand),
    /// `logdrain maintain`: the policy to apply once.
    Maintain(DbConfig, Policy),
    /// `logdrain logs` / `logdrain tail`: a query-API client, no database.
    Logs(LogsRequest),
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The command line itself; also `--help` and `--version`, which clap prints on `exit()`.
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// The `--config` file: unreadable, not TOML, an unknown key, a bad value or a bad rule.
    #[error("config file {}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key or rule.
        message: String,
    },
    /// A value that parsed but is out of range.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// Turns the command line (`argv`, program name first), the environment and the `--config`
/// file into the validated settings of one command, ingest rules compiled.
pub fn load(argv: &[String]) -> Result<Settings, LoadError> {
    let first = Cli::try_parse_from(argv)?;
    let (cli, rules, alert_rules) = match first.config.clone() {
        None => (first, None, Vec::new()),
        Some(path) => {
            let file_error = |message: String| LoadError::File {
                path: path.clone(),
                message,
            };
            let text = std::fs::read_to_string(&path).map_err(|e| file_error(e.to_string()))?;
            let argv = with_file_settings(argv, &text, |name| std::env::var_os(name).is_some())
                .map_err(file_error)?;
            let cli = Cli::try_parse_from(&argv).map_err(|e| file_error(e.to_string()))?;
            let rules = match rules_table(&text).map_err(file_error)? {
                // Compiled once, before anything is served: a bad rule stops start-up.
                Some(table) => {
                    Some(crate::rules::compile(&table).map_err(|e| file_error(e.to_string()))?)
                }
                None => None,
            };
            // Validated before anything is served too: a bad alert rule stops start-up.
            let alerts = alerts_table(&text).map_err(file_error)?;
            let alert_rules = crate::alerts::rule::validate_config(alerts)
                .map_err(|e| file_error(e.to_string()))?;
            (cli, rules, alert_rules)
        }
    };
    Ok(match cli.command {
        Command::Serve(args) => Settings {
            log_format: args.db.log_format,
            task: Task::Serve(Box::new(serve(
                &args,
                rules.unwrap_or_default(),
                alert_rules,
            )?)),
        },
        Command::Migrate(db) => Settings {
            log_format: db.log_format,
            task: Task::Migrate(database(&db)?),
        },
        Command::Apps(apps) => Settings {
            log_format: apps.db.log_format,
            task: Task::Apps(database(&apps.db)?, apps.command),
        },
        Command::Spaces(spaces) => Settings {
            log_format: spaces.db.log_format,
            task: Task::Spaces(database(&spaces.db)?, spaces.command),
        },
        Command::Maintain(args) => Settings {
            log_format: args.db.log_format,
            task: Task::Maintain(database(&args.db)?, policy(&args.retention)?),
        },
        Command::Logs(args) => client(&args, false),
        Command::Tail(args) => client(&args, true),
    })
}

/// `logs`/`tail`: what the client asks the server for.
fn client(args: &LogsArgs, tail: bool) -> Settings {
    Settings {
        log_format: LogFormat::Pretty,
        task: Task::Logs(LogsRequest {
            url: args.url.clone(),
            token: args.token.clone(),
            app: args.app.clone(),
            params: args.params(),
            tail: tail || args.tail,
            colour: args.no_color.then_some(false),
        }),
    }
}

/// The validated maintenance policy.
fn policy(args: &RetentionArgs) -> Result<Policy, ConfigError> {
    check_interval(args.partition_interval).map_err(|message| ConfigError {
        setting: "LOGDRAIN_PARTITION_INTERVAL",
        message,
    })?;
    if let Some(age) = args.retention {
        if age < args.partition_interval {
            return Err(ConfigError {
                setting: "LOGDRAIN_RETENTION",
                message: "must be at least LOGDRAIN_PARTITION_INTERVAL".into(),
            });
        }
    }
    if args.alert_history_keep == 0 {
        return Err(ConfigError {
            setting: "LOGDRAIN_ALERT_HISTORY_KEEP",
            message: "must be at least 1 (a rule's newest state change says why it is in its \
                      state)"
                .into(),
        });
    }
    Ok(Policy {
        interval: args.partition_interval,
        max_age: args.retention,
        max_db_bytes: args.max_db_size.map(|b| b as u64),
        search_index: args.search_index,
        search_index_max_age: args.search_index_age,
        index_build_memory: args.index_build_memory as u64,
        compact_after: (!args.compact_after.is_zero()).then_some(args.compact_after),
        alert_history_keep: args.alert_history_keep,
        keyed_minutes_keep: (!args.keyed_minutes_keep.is_zero()).then_some(args.keyed_minutes_keep),
    })
}

/// The validated database settings.
fn database(args: &DbArgs) -> Result<DbConfig, ConfigError> {
    if args.db_pool < 2 {
        return Err(ConfigError {
            setting: "LOGDRAIN_DB_POOL",
            message: "must be at least 2".into(),
        });
    }
    let database = match args.database_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => Database::Url(Secret::new(url)),
        None => Database::Private {
            data_dir: args.pg_data.clone(),
            bin_dir: args.pg_bin.clone(),
            run_as: args.pg_user.clone(),
        },
    };
    Ok(DbConfig {
        database,
        pool_size: args.db_pool,
        acquire_timeout: args.db_timeout,
    })
}

/// The validated alert evaluation and notification settings.
fn alert_settings(args: &AlertArgs) -> Result<crate::alerts::Settings, ConfigError> {
    if args.alert_every < Duration::from_secs(1) {
        return Err(ConfigError {
            setting: "LOGDRAIN_ALERT_EVERY",
            message: "must be at least 1s".into(),
        });
    }
    if args.alert_timeout.is_zero() {
        return Err(ConfigError {
            setting: "LOGDRAIN_ALERT_TIMEOUT",
            message: "must be greater than zero".into(),
        });
    }
    let public_url = match args.public_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            Some(u.trim_end_matches('/').to_owned())
        }
        Some(_) => {
            return Err(ConfigError {
                setting: "LOGDRAIN_PUBLIC_URL",
                message: "must start with http:// or https://".into(),
            })
        }
    };
    Ok(crate::alerts::Settings {
        every: args.alert_every,
        timeout: args.alert_timeout,
        retries: args.alert_retries,
        backoff: args.alert_backoff,
        public_url,
    })
}

/// The validated server settings; `rules` are the compiled `[rules]` of the config file (the
/// builtin redaction when it has none), `alert_rules` its validated `[[alerts]]`.
fn serve(
    args: &ServeArgs,
    rules: Rules,
    alert_rules: Vec<crate::alerts::Rule>,
) -> Result<ServeConfig, ConfigError> {
    let db = database(&args.db)?;
    let listen = match args.port {
        Some(port) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        None => args.listen,
    };
    let nonzero = |setting: &'static str, v: usize| {
        if v == 0 {
            Err(ConfigError {
                setting,
                message: "must be greater than zero".into(),
            })
        } else {
            Ok(v)
        }
    };
    nonzero("LOGDRAIN_MAX_BODY", args.max_body)?;
    nonzero("LOGDRAIN_MAX_FRAME", args.max_frame)?;
    nonzero("LOGDRAIN_BATCH_BYTES", args.batch_bytes)?;
    nonzero("LOGDRAIN_WRITERS", args.writers)?;
    if args.queue_bytes < args.max_body.saturating_mul(2) {
        return Err(ConfigError {
            setting: "LOGDRAIN_QUEUE_BYTES",
            message: "must hold at least two maximal bodies (2 × LOGDRAIN_MAX_BODY)".into(),
        });
    }
    // A quarter of the queue, but room for the rows of a maximal body (about 2.5× its size).
    let app_queue_share = args.app_queue_share.unwrap_or_else(|| {
        (args.queue_bytes / 4)
            .max(args.max_body.saturating_mul(3))
            .min(args.queue_bytes)
    });
    if app_queue_share == 0 || app_queue_share > args.queue_bytes {
        return Err(ConfigError {
            setting: "LOGDRAIN_APP_QUEUE_SHARE",
            message: "must be greater than zero and at most LOGDRAIN_QUEUE_BYTES".into(),
        });
    }
    for (setting, d) in [
        ("LOGDRAIN_HEAD_TIMEOUT", args.head_timeout),
        ("LOGDRAIN_MAINTENANCE_EVERY", args.maintenance_every),
        ("LOGDRAIN_ROLLUP_MERGE_EVERY", args.rollup_merge_every),
    ] {
        if d.is_zero() {
            let message = "must be greater than zero".into();
            return Err(ConfigError { setting, message });
        }
    }
    if args.writers as u32 >= db.pool_size {
        return Err(ConfigError {
            setting: "LOGDRAIN_WRITERS",
            message: format!("must be below LOGDRAIN_DB_POOL ({})", db.pool_size),
        });
    }
    if args.session_ttl.is_zero() {
        return Err(ConfigError {
            setting: "LOGDRAIN_SESSION_TTL",
            message: "must be longer than 0s".into(),
        });
    }
    let token = |setting: &'static str, t: &Option<String>| match t.as_deref() {
        None | Some("") => Ok(None),
        Some(t) if t.len() < 16 || t.contains(':') => Err(ConfigError {
            setting,
            message: "must be at least 16 characters and contain no ':'".into(),
        }),
        Some(t) => Ok(Some(Secret::new(t))),
    };
    Ok(ServeConfig {
        listen,
        drain_token: token("LOGDRAIN_DRAIN_TOKEN", &args.drain_token)?,
        api_token: token("LOGDRAIN_API_TOKEN", &args.api_token)?,
        db,
        max_body_bytes: args.max_body,
        max_frame_bytes: args.max_frame,
        otlp_max_attributes: args.otlp_max_attributes,
        queue_bytes: args.queue_bytes,
        app_queue_share,
        max_lines: nonzero("LOGDRAIN_MAX_LINES", args.max_lines)?,
        app_concurrency: nonzero("LOGDRAIN_APP_CONCURRENCY", args.app_concurrency)?,
        batch_bytes: args.batch_bytes,
        writers: args.writers,
        ack_timeout: args.ack_timeout,
        query_timeout: args.query_timeout,
        retry_after: args.retry_after,
        auth_cache_ttl: args.auth_cache_ttl,
        session_ttl: args.session_ttl,
        shutdown_grace: args.shutdown_grace,
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        },
        idle_timeout: args.idle_timeout,
        head_timeout: args.head_timeout,
        max_pending_heads: nonzero("LOGDRAIN_MAX_PENDING_HEADS", args.max_pending_heads)?,
        body_timeout: args.body_timeout,
        max_connections: nonzero("LOGDRAIN_MAX_CONNECTIONS", args.max_connections)?,
        maintenance: policy(&args.retention)?,
        maintenance_every: args.maintenance_every,
        rollup_merge_every: args.rollup_merge_every,
        rules: Arc::new(rules),
        alerts: alert_settings(&args.alerts)?,
        alert_rules,
    })
}

#[cfg(test)]
mod tests;
