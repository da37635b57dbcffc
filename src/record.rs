//! The shared vocabulary of the pipeline: what a parsed, classified line is, and the small
//! newtypes that cannot hold bad values. Produced by `classify`, consumed by `store`.

use std::borrow::Cow;
use std::fmt;

mod rule_event;
pub use rule_event::{RuleAction, RuleEvent};

/// The family a line belongs to; decides which fields it carries (docs/lines.md).
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

/// Text that borrows from the request body when it can and owns its bytes when it had to be
/// cleaned (invalid UTF-8, NULs, ANSI codes) or unescaped.
pub type Text<'a> = Cow<'a, str>;

/// One extracted field value (docs/lines.md: numbers are JSON numbers).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Text as written (quotes and escapes removed).
    Str(Text<'a>),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// `true`/`false` (router `tls`).
    Bool(bool),
    /// A list of names (api `config_vars`).
    List(Vec<Text<'a>>),
    /// Process type → quantity and size (api `formation`).
    Formation(Vec<Scale<'a>>),
}

/// One process type of a scaling event: `web@2:Standard-1X` or legacy `web=2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale<'a> {
    /// The process type (`web`, `worker`).
    pub process: Text<'a>,
    /// How many dynos.
    pub quantity: i64,
    /// The dyno size, when the line names one.
    pub size: Option<Text<'a>>,
}

/// The fields stored in the `fields` jsonb column: everything extracted that has no typed
/// column of its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Fields<'a> {
    /// Nothing extracted.
    #[default]
    None,
    /// Key/value pairs in the order the line wrote them.
    Pairs(Vec<(Text<'a>, Value<'a>)>),
    /// The message is this JSON object (validated, safe for jsonb), stored as it is.
    Json(Text<'a>),
}

/// Fields with typed, indexed columns of their own: what the query API filters and aggregates
/// on (router timings and status, request ids, error codes).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Columns<'a> {
    /// Router `status`.
    pub status: Option<i16>,
    /// Router `service`, in milliseconds.
    pub service_ms: Option<i32>,
    /// Router `connect`, in milliseconds.
    pub connect_ms: Option<i32>,
    /// Router `bytes`.
    pub bytes: Option<i64>,
    /// Router `method`.
    pub method: Option<Text<'a>>,
    /// Router `path` (with its query string, as logged).
    pub path: Option<Text<'a>>,
    /// Router `host`.
    pub host: Option<Text<'a>>,
    /// Router `path` without its query string and with id-like segments as `:id`: what
    /// `/stats/requests?by=path` groups on.
    pub route: Option<Text<'a>>,
    /// Router `dyno`: the dyno that served the request (the line's own PROCID is `router`).
    pub router_dyno: Option<Text<'a>>,
    /// The request id: router `request_id`, or one an app line carries.
    pub request_id: Option<Text<'a>>,
    /// Heroku error code: `H12`, `R14`, `L10`.
    pub code: Option<Text<'a>>,
}

/// One stored line. Borrows from the request body wherever it can, so the pure pipeline does
/// not copy what the COPY encoder will copy anyway.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord<'a> {
    /// The line's own timestamp in microseconds since the Unix epoch (UTC); the receive time
    /// when the message carried none or an unparsable one.
    pub ts_us: i64,
    /// Syslog PRI; `None` when the message did not parse and is stored raw.
    pub pri: Option<u8>,
    /// Syslog APP-NAME: `app` or `heroku` (empty for raw lines).
    pub source: Text<'a>,
    /// Syslog PROCID: `web.1`, `router`, `api`, … (empty for raw lines).
    pub dyno: Text<'a>,
    /// The family, from `classify`.
    pub kind: Kind,
    /// The inferred level.
    pub level: Level,
    /// MSG decoded as UTF-8 with replacement characters, NULs replaced (Postgres text cannot
    /// hold them), ANSI escape sequences removed and at most one trailing LF removed: what
    /// people search and read.
    pub message: Text<'a>,
    /// The exact bytes of the syslog message as framed (header, MSG and trailing LF if sent);
    /// for a reassembled long line, the first chunk's header followed by every chunk's MSG.
    pub raw: Cow<'a, [u8]>,
    /// Where MSG starts in `raw`: the length of the syslog header (0 for a line stored raw).
    /// Recorded by classification so that redaction can rebuild `raw` around a changed
    /// message without parsing the header again.
    pub msg_start: usize,
    /// Typed fields with columns of their own.
    pub columns: Columns<'a>,
    /// The other extracted fields.
    pub fields: Fields<'a>,
    /// Messages Logplex or log-shuttle reported lost (L10/L12/L13), counted per app.
    pub dropped: u64,
    /// How many 10,000-byte chunks were joined into this line (1 for an ordinary line).
    pub parts: u16,
    /// The line ends with a 10,000-byte chunk whose continuation was not in the same request:
    /// the next chunk is stored as the next line of the same dyno with the same timestamp.
    pub continued: bool,
    /// What a line received over OTLP carries beyond a syslog message; `None` for Logplex
    /// lines (boxed so that they pay one pointer for it).
    pub telemetry: Option<Box<Telemetry<'a>>>,
}

/// The parts of an OpenTelemetry log record that a syslog message has no place for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Telemetry<'a> {
    /// The W3C trace id as 32 lower-case hex digits.
    pub trace_id: Option<Text<'a>>,
    /// The span id as 16 lower-case hex digits.
    pub span_id: Option<Text<'a>>,
    /// The line's tags as a JSON object text: the drain URL's query parameters, then the
    /// resource attributes, then the record's own attributes, each under its own name.
    pub tags: Option<Text<'a>>,
    /// The level the record stated (`severityNumber`, else `severityText`); it wins over the
    /// classifier's inference, which is only the fallback.
    pub level: Option<Level>,
}

impl Telemetry<'_> {
    /// Detaches the telemetry from the buffer it borrows.
    pub fn into_owned(self) -> Telemetry<'static> {
        let own = |t: Option<Text<'_>>| t.map(|t| Cow::Owned(t.into_owned()));
        Telemetry {
            trace_id: own(self.trace_id),
            span_id: own(self.span_id),
            tags: own(self.tags),
            level: self.level,
        }
    }
}

impl Value<'_> {
    /// Detaches the value from the buffer it borrows.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Int(n) => Value::Int(n),
            Value::Float(f) => Value::Float(f),
            Value::Bool(b) => Value::Bool(b),
            Value::List(items) => Value::List(
                items
                    .into_iter()
                    .map(|s| Cow::Owned(s.into_owned()))
                    .collect(),
            ),
            Value::Formation(scales) => Value::Formation(
                scales
                    .into_iter()
                    .map(|s| Scale {
                        process: Cow::Owned(s.process.into_owned()),
                        quantity: s.quantity,
                        size: s.size.map(|z| Cow::Owned(z.into_owned())),
                    })
                    .collect(),
            ),
        }
    }
}

impl Fields<'_> {
    /// Detaches the fields from the buffer they borrow.
    pub fn into_owned(self) -> Fields<'static> {
        match self {
            Fields::None => Fields::None,
            Fields::Pairs(pairs) => Fields::Pairs(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            ),
            Fields::Json(text) => Fields::Json(Cow::Owned(text.into_owned())),
        }
    }

    /// Whether nothing was extracted.
    pub fn is_empty(&self) -> bool {
        match self {
            Fields::None => true,
            Fields::Pairs(pairs) => pairs.is_empty(),
            Fields::Json(_) => false,
        }
    }
}

impl Columns<'_> {
    /// Detaches the columns from the buffer they borrow.
    pub fn into_owned(self) -> Columns<'static> {
        let own = |t: Option<Text<'_>>| t.map(|t| Cow::Owned(t.into_owned()));
        Columns {
            status: self.status,
            service_ms: self.service_ms,
            connect_ms: self.connect_ms,
            bytes: self.bytes,
            method: own(self.method),
            path: own(self.path),
            host: own(self.host),
            route: own(self.route),
            router_dyno: own(self.router_dyno),
            request_id: own(self.request_id),
            code: own(self.code),
        }
    }
}

impl LogRecord<'_> {
    /// Detaches the record from the body it borrows.
    pub fn into_owned(self) -> LogRecord<'static> {
        LogRecord {
            ts_us: self.ts_us,
            pri: self.pri,
            source: Cow::Owned(self.source.into_owned()),
            dyno: Cow::Owned(self.dyno.into_owned()),
            kind: self.kind,
            level: self.level,
            message: Cow::Owned(self.message.into_owned()),
            raw: Cow::Owned(self.raw.into_owned()),
            msg_start: self.msg_start,
            columns: self.columns.into_owned(),
            fields: self.fields.into_owned(),
            dropped: self.dropped,
            parts: self.parts,
            continued: self.continued,
            telemetry: self.telemetry.map(|t| Box::new(t.into_owned())),
        }
    }

    /// The line's `fields` object as the API shows it (docs/lines.md): the typed columns under
    /// their API names merged with the other fields.
    pub fn api_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = match &self.fields {
            Fields::None => serde_json::Map::new(),
            Fields::Pairs(_) => {
                let mut text = Vec::new();
                write_fields_json(&self.fields, &mut text);
                serde_json::from_slice(&text).unwrap_or_default()
            }
            Fields::Json(text) => serde_json::from_str(text).unwrap_or_default(),
        };
        let c = &self.columns;
        let mut put = |key: &str, value: Option<serde_json::Value>| {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        };
        put("status", c.status.map(Into::into));
        put("service_ms", c.service_ms.map(Into::into));
        put("connect_ms", c.connect_ms.map(Into::into));
        put("bytes", c.bytes.map(Into::into));
        put("method", c.method.as_deref().map(Into::into));
        put("path", c.path.as_deref().map(Into::into));
        put("host", c.host.as_deref().map(Into::into));
        put("dyno", c.router_dyno.as_deref().map(Into::into));
        put("request_id", c.request_id.as_deref().map(Into::into));
        put("code", c.code.as_deref().map(Into::into));
        map
    }
}

/// Appends the JSON text of the `fields` column; returns `false` (and writes nothing) when
/// there are no fields.
pub fn write_fields_json(fields: &Fields<'_>, out: &mut Vec<u8>) -> bool {
    match fields {
        Fields::None => false,
        Fields::Json(text) => {
            out.extend_from_slice(text.as_bytes());
            true
        }
        Fields::Pairs(pairs) if pairs.is_empty() => false,
        Fields::Pairs(pairs) => {
            out.push(b'{');
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, key);
                out.push(b':');
                write_value(out, value);
            }
            out.push(b'}');
            true
        }
    }
}

/// The JSON number text of a number value, as the stored `fields` write it; `None` for
/// anything that is not written as a JSON number (text, lists, non-finite floats).
pub fn number_text(value: &Value<'_>) -> Option<String> {
    match value {
        Value::Int(n) => Some(n.to_string()),
        Value::Float(f) if f.is_finite() => {
            let mut text = f.to_string();
            if !text.contains(['.', 'e', 'E']) {
                text.push_str(".0");
            }
            Some(text)
        }
        _ => None,
    }
}

/// Appends one value as JSON.
fn write_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Str(s) => write_json_str(out, s),
        Value::Int(_) | Value::Float(_) => match number_text(value) {
            Some(text) => out.extend_from_slice(text.as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, item);
            }
            out.push(b']');
        }
        Value::Formation(scales) => {
            out.push(b'{');
            for (i, scale) in scales.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, &scale.process);
                out.extend_from_slice(b":{\"quantity\":");
                out.extend_from_slice(scale.quantity.to_string().as_bytes());
                if let Some(size) = &scale.size {
                    out.extend_from_slice(b",\"size\":");
                    write_json_str(out, size);
                }
                out.push(b'}');
            }
            out.push(b'}');
        }
    }
}

/// Appends a JSON string literal. Writing into a `Vec` cannot fail.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}
