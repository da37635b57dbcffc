//! PURE: an export request → one syslog line per log record (with its [`Telemetry`]) → the
//! classified [`LogRecord`]s, through the same `logplex::parse` and `classify::classify` as a
//! Logplex body.
//!
//! Why a syslog line per record: the classifier, the redaction rules and `raw` all speak
//! RFC 5424, so a record rendered as `<PRI>1 TS host SOURCE DYNO - BODY` is classified exactly
//! as the same line from Logplex (same kind, same typed fields), redaction rebuilds it the same
//! way, and `raw` shows what was classified. The record's own facts that syslog cannot hold
//! ride along in [`Telemetry`] and win where they are stated (level, timestamp).

use super::origin::origin;
use super::value::{self, hex_id};
use super::ExportLogsServiceRequest;
use crate::classify::{classify, raw_line};
use crate::logplex;
use crate::record::{AppName, Level, LogRecord, Telemetry};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord as OtlpRecord;
use std::borrow::Cow;

/// Where the records of one request go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// All to the app the credential names (`Basic APP:TOKEN`, or an app's drain token).
    OneApp,
    /// Each to the app its resource's `service.name` names (a space credential, or the
    /// quick-start token sent as `Bearer`). A record without a valid app name there is refused.
    ByServiceName,
}

/// The tag under which a line says how many attributes were left out past the cap.
pub const ATTRIBUTES_LEFT_OUT_TAG: &str = "logdrain.attributes_left_out";

/// One record, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The app its `service.name` names (only with [`Routing::ByServiceName`]).
    pub app: Option<AppName>,
    /// `<PRI>1 TS host SOURCE DYNO - BODY`: what is classified and stored as `raw`.
    pub raw: Vec<u8>,
    /// The record's timestamp (`timeUnixNano`, else `observedTimeUnixNano`, else the receive
    /// time), in microseconds.
    pub ts_us: i64,
    /// Trace, span, tags and stated level.
    pub telemetry: Telemetry<'static>,
}

/// What one request turned into.
#[derive(Debug, Default)]
pub struct Lines {
    /// Every accepted record, in request order.
    pub lines: Vec<Line>,
    /// Records refused (no app to route them to): the `rejected_log_records` of the answer.
    pub rejected: u64,
    /// Why, for the answer's `error_message` (the first reason seen).
    pub rejection: Option<String>,
}

/// Settings of the mapping.
#[derive(Debug, Clone, Copy)]
pub struct MapSettings {
    /// Most attributes (resource and record together) kept as tags on one line.
    pub max_attributes: usize,
}

/// Renders every record of `req`. `drain_tags` are the query parameters of the URL the
/// request came to, which every line carries first.
pub fn lines(
    req: &ExportLogsServiceRequest,
    routing: Routing,
    drain_tags: &[(String, String)],
    settings: MapSettings,
    received_us: i64,
) -> Lines {
    let mut out = Lines::default();
    for resource_logs in &req.resource_logs {
        let resource_attrs: &[KeyValue] = resource_logs
            .resource
            .as_ref()
            .map_or(&[], |r| &r.attributes[..]);
        let app = match routing {
            Routing::OneApp => None,
            Routing::ByServiceName => {
                let name = resource_attrs
                    .iter()
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| value::as_str(kv.value.as_ref()));
                match name.and_then(AppName::parse) {
                    Some(app) => Some(app),
                    None => {
                        let n: usize = resource_logs
                            .scope_logs
                            .iter()
                            .map(|s| s.log_records.len())
                            .sum();
                        out.rejected += n as u64;
                        if n > 0 && out.rejection.is_none() {
                            out.rejection = Some(match name {
                                Some(name) => format!(
                                    "service.name {name:?} is not an app name ([a-z][a-z0-9-]{{1,62}})"
                                ),
                                None => "resource has no service.name to name the app".to_owned(),
                            });
                        }
                        continue;
                    }
                }
            }
        };
        for scope_logs in &resource_logs.scope_logs {
            for record in &scope_logs.log_records {
                out.lines.push(line(
                    record,
                    resource_attrs,
                    app.clone(),
                    drain_tags,
                    settings,
                    received_us,
                ));
            }
        }
    }
    out
}

fn line(
    record: &OtlpRecord,
    resource_attrs: &[KeyValue],
    app: Option<AppName>,
    drain_tags: &[(String, String)],
    settings: MapSettings,
    received_us: i64,
) -> Line {
    let message = value::message(record.body.as_ref());
    let (source, dyno) = origin(&record.attributes, resource_attrs, &message);
    let level = stated_level(record.severity_number, &record.severity_text);
    let nanos = match record.time_unix_nano {
        0 => record.observed_time_unix_nano,
        t => t,
    };
    let ts_us = match nanos {
        0 => received_us,
        n => i64::try_from(n / 1_000).unwrap_or(i64::MAX),
    };
    // Facility local7, like application output from Logplex; severity as stated, else info.
    let pri = 23 * 8 + level.map_or(6, |l| l.severity());
    let mut raw = Vec::with_capacity(64 + source.len() + dyno.len() + message.len());
    logplex::write_line(
        &mut raw,
        u16::try_from(pri).unwrap_or(0),
        ts_us,
        source.as_bytes(),
        dyno.as_bytes(),
        message.as_bytes(),
    );

    let telemetry = Telemetry {
        trace_id: hex_id(&record.trace_id, 16).map(Cow::Owned),
        span_id: hex_id(&record.span_id, 8).map(Cow::Owned),
        tags: Some(Cow::Owned(tags(
            record,
            resource_attrs,
            drain_tags,
            settings,
        ))),
        level,
    };
    Line {
        app,
        raw,
        ts_us,
        telemetry,
    }
}

/// The line's tags: drain tags, then resource attributes, then the record's attributes and
/// `event.name` (later keys win in jsonb, so a record overrides its resource), at most
/// `max_attributes` attributes, with a count of those left out.
fn tags(
    record: &OtlpRecord,
    resource_attrs: &[KeyValue],
    drain_tags: &[(String, String)],
    settings: MapSettings,
) -> String {
    let mut out = String::with_capacity(64);
    out.push('{');
    for (key, value) in drain_tags {
        push_key(&mut out, key);
        push_json_str(&mut out, value);
    }
    let mut kept = 0;
    let mut left_out = 0usize;
    for kv in resource_attrs.iter().chain(&record.attributes) {
        if kept == settings.max_attributes {
            left_out += 1;
            continue;
        }
        push_key(&mut out, &kv.key);
        value::write_json(&mut out, kv.value.as_ref());
        kept += 1;
    }
    if !record.event_name.is_empty() {
        push_key(&mut out, "event.name");
        push_json_str(&mut out, &record.event_name);
    }
    if left_out > 0 {
        push_key(&mut out, ATTRIBUTES_LEFT_OUT_TAG);
        out.push_str(&left_out.to_string());
    }
    out.push('}');
    out
}

fn push_key(out: &mut String, key: &str) {
    if out.len() > 1 {
        out.push(',');
    }
    push_json_str(out, key);
    out.push(':');
}

fn push_json_str(out: &mut String, s: &str) {
    if let Ok(text) = serde_json::to_string(s) {
        out.push_str(&text);
    }
}

/// The level a record states: `severityNumber` when set (TRACE and DEBUG → debug, INFO → info,
/// WARN → warning, ERROR → error, FATAL → critical), else a recognised `severityText`.
pub fn stated_level(number: i32, text: &str) -> Option<Level> {
    match number {
        1..=8 => return Some(Level::Debug),
        9..=12 => return Some(Level::Info),
        13..=16 => return Some(Level::Warning),
        17..=20 => return Some(Level::Error),
        21..=24 => return Some(Level::Critical),
        _ => {}
    }
    let word = text.trim().trim_end_matches(|c: char| c.is_ascii_digit());
    let is = |names: &[&str]| names.iter().any(|n| word.eq_ignore_ascii_case(n));
    if is(&["trace", "debug", "fine", "finer", "finest"]) {
        Some(Level::Debug)
    } else if is(&["info", "information", "informational"]) {
        Some(Level::Info)
    } else if is(&["notice"]) {
        Some(Level::Notice)
    } else if is(&["warn", "warning"]) {
        Some(Level::Warning)
    } else if is(&["error", "err", "severe"]) {
        Some(Level::Error)
    } else if is(&[
        "fatal",
        "critical",
        "crit",
        "alert",
        "emerg",
        "emergency",
        "panic",
    ]) {
        Some(Level::Critical)
    } else {
        None
    }
}

/// Classifies rendered lines exactly as Logplex lines, then applies what the record stated:
/// its timestamp, its level (the classifier's inference is the fallback) and its telemetry.
pub fn records<'a>(
    lines: impl IntoIterator<Item = &'a Line>,
    received_us: i64,
) -> Vec<LogRecord<'a>> {
    lines
        .into_iter()
        .map(|line| {
            let mut record = match logplex::parse(&line.raw) {
                Ok(msg) => classify(&msg, &line.raw, received_us),
                // Not reached for rendered lines; kept so that nothing is ever lost.
                Err(_) => raw_line(&line.raw, received_us),
            };
            record.ts_us = line.ts_us;
            if let Some(level) = line.telemetry.level {
                record.level = level;
            }
            let t = &line.telemetry;
            let borrow = |v: &'a Option<Cow<'static, str>>| v.as_deref().map(Cow::Borrowed);
            record.telemetry = Some(Box::new(Telemetry {
                trace_id: borrow(&t.trace_id),
                span_id: borrow(&t.span_id),
                tags: borrow(&t.tags),
                level: t.level,
            }));
            record
        })
        .collect()
}
