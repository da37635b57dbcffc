//! PURE: syslog message → [`LogRecord`]. Decides the line's kind from (APP-NAME, PROCID) and
//! the message, infers a level, and extracts the few fields the ingest path itself needs
//! (Logplex loss reports). No I/O: the caller counts and logs.
//!
//! [`process_body`] is the whole pure pipeline (frame → parse → classify) that the HTTP
//! handler, the benches and the fuzz target all call.

mod loss;

use crate::logplex::{self, Frame, SyslogMessage};
use crate::record::{Kind, Level, LogRecord};
use serde_json::{Map, Value};

pub use loss::{parse_loss, Loss};

/// What one body turned into.
#[derive(Debug, Default)]
pub struct Processed {
    /// Every line to store, in body order: parsed messages and raw fallbacks alike.
    pub records: Vec<LogRecord>,
    /// Lines that did not parse as syslog (or could not be framed) and are stored raw.
    pub fallbacks: usize,
}

/// Splits, parses and classifies a whole `application/logplex-1` body. Nothing is dropped:
/// a frame that does not parse becomes a raw `app` line stamped with `received_us`.
pub fn process_body(body: &[u8], max_frame: usize, received_us: i64) -> Processed {
    let mut out = Processed::default();
    for frame in logplex::frames(body, max_frame) {
        let bytes = match frame {
            Frame::Message(bytes) => bytes,
            Frame::Invalid { bytes, .. } => {
                out.fallbacks += 1;
                out.records.push(raw_line(bytes, received_us));
                continue;
            }
        };
        match logplex::parse(bytes) {
            Ok(msg) => out.records.push(classify(&msg, bytes, received_us)),
            Err(_) => {
                out.fallbacks += 1;
                out.records.push(raw_line(bytes, received_us));
            }
        }
    }
    out
}

/// Classifies one parsed message; `raw` is the exact framed bytes it was parsed from.
pub fn classify(msg: &SyslogMessage<'_>, raw: &[u8], received_us: i64) -> LogRecord {
    let source = String::from_utf8_lossy(msg.app_name).into_owned();
    let dyno = String::from_utf8_lossy(msg.procid).into_owned();
    let message = display_text(msg.msg);
    let kind = kind_of(&source, &dyno, &message);
    let mut level = Level::from_severity(msg.severity());
    let mut fields = None;
    let mut dropped = 0;

    if let Some(loss) = parse_loss(&message) {
        dropped = loss.dropped;
        let mut map = Map::new();
        map.insert("event".into(), Value::from("dropped"));
        map.insert("code".into(), Value::from(loss.code));
        map.insert("dropped".into(), Value::from(loss.dropped));
        fields = Some(map);
        level = Level::Error;
    } else if let Some(inferred) = infer_level(kind, &message) {
        level = inferred;
    }

    LogRecord {
        ts_us: msg.timestamp.unwrap_or(received_us),
        pri: Some(msg.pri),
        source,
        dyno,
        kind,
        level,
        message,
        raw: raw.to_vec(),
        fields,
        dropped,
    }
}

/// A line that could not be framed or parsed: stored whole, as an `app` line with the receive
/// time, so that nothing is ever lost.
pub fn raw_line(bytes: &[u8], received_us: i64) -> LogRecord {
    let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    LogRecord {
        ts_us: received_us,
        pri: None,
        source: String::new(),
        dyno: String::new(),
        kind: Kind::App,
        level: Level::Info,
        message: display_text(text),
        raw: bytes.to_vec(),
        fields: None,
        dropped: 0,
    }
}

/// MSG as searchable text: UTF-8 with replacement characters, and NUL (which Postgres text
/// cannot hold) replaced by U+FFFD. The exact bytes stay in `raw`.
fn display_text(msg: &[u8]) -> String {
    let text = String::from_utf8_lossy(msg);
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.into_owned()
    }
}

/// The line family from (APP-NAME, PROCID) and the message (PROTOCOL.md §0 item 12).
fn kind_of(source: &str, dyno: &str, message: &str) -> Kind {
    match (source, dyno) {
        ("heroku", "router") => Kind::Router,
        (_, "api") => Kind::Api,
        ("heroku", "logplex") | ("app", "log-shuttle") => Kind::System,
        ("app", "heroku-postgres" | "heroku-redis" | "heroku-pgbouncer") => Kind::Addon,
        ("app", d) if d.starts_with("postgres.") => Kind::Addon,
        ("heroku", _) if message.starts_with("source=") && message.contains(" sample#") => {
            Kind::RuntimeMetric
        }
        ("heroku", _) => Kind::System,
        _ => Kind::App,
    }
}

/// The level a line states about itself, when it states one.
fn infer_level(kind: Kind, message: &str) -> Option<Level> {
    match kind {
        Kind::Router => {
            if message.contains("at=error") {
                Some(Level::Error)
            } else if message.contains("at=warning") {
                Some(Level::Warning)
            } else {
                Some(Level::Info)
            }
        }
        Kind::System if message.starts_with("Error R15") => Some(Level::Critical),
        Kind::System if message.starts_with("Error ") => Some(Level::Error),
        Kind::System if message.starts_with("State changed from up to crashed") => {
            Some(Level::Error)
        }
        Kind::App => app_prefix_level(message),
        _ => None,
    }
}

/// Common severity prefixes of application output (`ERROR`, `[ERROR]`, `E, [`, `FATAL`, …).
fn app_prefix_level(message: &str) -> Option<Level> {
    let m = message.trim_start().trim_start_matches('[');
    let starts =
        |p: &str| m.len() >= p.len() && m.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    if starts("FATAL") || starts("CRITICAL") || m.starts_with("F, [") {
        Some(Level::Critical)
    } else if starts("ERROR") || m.starts_with("E, [") {
        Some(Level::Error)
    } else if starts("WARN") || m.starts_with("W, [") {
        Some(Level::Warning)
    } else if starts("DEBUG") || m.starts_with("D, [") {
        Some(Level::Debug)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_lines_are_router_kind_and_errors_are_error_level() {
        let raw = b"<158>1 2024-05-01T10:00:00.118264+00:00 host heroku router - at=error code=H12 desc=\"Request timeout\" method=GET path=\"/\" status=503\n";
        let p = process_body(format!("{} ", raw.len()).as_bytes(), 1 << 20, 0);
        assert!(p.records.len() <= 1);
        let msg = logplex::parse(raw).expect("parses");
        let rec = classify(&msg, raw, 0);
        assert_eq!(rec.kind, Kind::Router);
        assert_eq!(rec.level, Level::Error);
        assert_eq!(rec.raw, raw.to_vec());
        assert!(!rec.message.ends_with('\n'));
    }

    #[test]
    fn unparsable_frames_are_kept_raw_with_the_receive_time() {
        let body = b"11 hello world";
        let p = process_body(body, 1 << 20, 42);
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.fallbacks, 1);
        assert_eq!(p.records[0].raw, b"hello world".to_vec());
        assert_eq!(p.records[0].ts_us, 42);
        assert_eq!(p.records[0].kind, Kind::App);
    }

    #[test]
    fn nul_bytes_are_replaced_in_text_but_kept_in_raw() {
        let rec = raw_line(b"a\0b", 0);
        assert_eq!(rec.message, "a\u{FFFD}b");
        assert_eq!(rec.raw, b"a\0b".to_vec());
    }

    #[test]
    fn kinds_follow_app_name_and_procid() {
        assert_eq!(kind_of("app", "web.1", "hi"), Kind::App);
        assert_eq!(kind_of("app", "api", "Release v1"), Kind::Api);
        assert_eq!(kind_of("heroku", "api", "Release v1"), Kind::Api);
        assert_eq!(kind_of("heroku", "web.1", "State changed"), Kind::System);
        assert_eq!(
            kind_of(
                "heroku",
                "web.1",
                "source=web.1 dyno=heroku.1.x sample#load_avg_1m=0.1"
            ),
            Kind::RuntimeMetric
        );
        assert_eq!(kind_of("app", "postgres.1127", "[DATABASE] x"), Kind::Addon);
        assert_eq!(kind_of("app", "heroku-redis", "source=REDIS"), Kind::Addon);
        assert_eq!(kind_of("heroku", "logplex", "Error L10"), Kind::System);
    }

    #[test]
    fn app_prefixes_set_the_level() {
        assert_eq!(app_prefix_level("ERROR boom"), Some(Level::Error));
        assert_eq!(app_prefix_level("[WARN] careful"), Some(Level::Warning));
        assert_eq!(
            app_prefix_level("E, [2024-05-01] ERROR -- : x"),
            Some(Level::Error)
        );
        assert_eq!(app_prefix_level("Started GET /"), None);
    }
}
