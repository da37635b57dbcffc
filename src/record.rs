//! The shared vocabulary of the pipeline: what a parsed, classified line is, and the small
//! newtypes that cannot hold bad values. Produced by `classify`, consumed by `store`.

use std::fmt;

/// The family a line belongs to; decides which fields it carries (API.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `heroku[router]`: one line per HTTP request, or a router error (H codes).
    Router,
    /// `app[api]` / legacy `heroku[api]`: releases, deploys, config and scaling.
    Api,
    /// Application output: anything a dyno writes to stdout or stderr.
    App,
    /// The dyno manager and Logplex itself: state changes, exits, R errors, L10/L12/L13.
    System,
    /// `source=web.1 dyno=… sample#…` lines from log-runtime-metrics.
    RuntimeMetric,
    /// Add-on metrics and Postgres server logs.
    Addon,
}

impl Kind {
    /// Every kind, in the order the API lists them.
    pub const ALL: [Kind; 6] = [
        Kind::Router,
        Kind::App,
        Kind::Api,
        Kind::System,
        Kind::RuntimeMetric,
        Kind::Addon,
    ];

    /// The name used in the database, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Router => "router",
            Kind::Api => "api",
            Kind::App => "app",
            Kind::System => "system",
            Kind::RuntimeMetric => "runtime_metric",
            Kind::Addon => "addon",
        }
    }

    /// Parses a kind name as the API spells it.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How severe a line is, inferred because Heroku sends nearly everything at one syslog
/// severity. Stored as the syslog severity number (lower is more severe) so that
/// "at least warning" is `level <= 4` in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Syslog 0–2: emergency, alert, critical (FATAL, R15, H99).
    Critical = 2,
    /// Syslog 3.
    Error = 3,
    /// Syslog 4.
    Warning = 4,
    /// Syslog 5.
    Notice = 5,
    /// Syslog 6: the default for ordinary output.
    Info = 6,
    /// Syslog 7.
    Debug = 7,
}

impl Level {
    /// Maps a syslog severity (0–7) onto a level; 0–2 all become `Critical`.
    pub fn from_severity(severity: u8) -> Level {
        match severity {
            0..=2 => Level::Critical,
            3 => Level::Error,
            4 => Level::Warning,
            5 => Level::Notice,
            6 => Level::Info,
            _ => Level::Debug,
        }
    }

    /// The syslog severity number stored in the `level` column.
    pub fn severity(self) -> i16 {
        self as i16
    }

    /// The name used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// An app's name as Heroku allows it: `[a-z][a-z0-9-]{1,62}`. The Basic-auth user name of a drain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppName(String);

impl AppName {
    /// Accepts only names Heroku could have issued.
    pub fn parse(s: &str) -> Option<AppName> {
        let b = s.as_bytes();
        let ok = (2..=63).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b[1..]
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
        ok.then(|| AppName(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One stored line, owned: everything the writer needs, nothing borrowed from the body.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// The line's own timestamp in microseconds since the Unix epoch (UTC); the receive time
    /// when the message carried none or an unparsable one.
    pub ts_us: i64,
    /// Syslog PRI; `None` when the message did not parse and is stored raw.
    pub pri: Option<u8>,
    /// Syslog APP-NAME: `app` or `heroku` (empty for raw lines).
    pub source: String,
    /// Syslog PROCID: `web.1`, `router`, `api`, … (empty for raw lines).
    pub dyno: String,
    /// The family, from `classify`.
    pub kind: Kind,
    /// The inferred level.
    pub level: Level,
    /// MSG decoded as UTF-8 with replacement characters, NULs replaced (Postgres text cannot
    /// hold them) and at most one trailing LF removed: what people search and read.
    pub message: String,
    /// The exact bytes of the syslog message as framed (header, MSG and trailing LF if sent).
    pub raw: Vec<u8>,
    /// Extracted fields as a JSON object, when the classifier found any.
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Messages Logplex or log-shuttle reported lost (L10/L12/L13), counted per app.
    pub dropped: u64,
}
