//! PURE: which syslog APP-NAME and PROCID (`source`, `dyno`) an OTLP record stands for, so that
//! the classifier sees it exactly as it would have come from Logplex.
//!
//! Attributes decide when they say (record attributes first, then the resource's):
//! [`SOURCE_KEYS`] give `app` or `heroku`, [`DYNO_KEYS`] the dyno. Otherwise the body decides:
//! a router line (`at=… method=… path=…`) is `heroku[router]`, a `source=… sample#…` runtime
//! metrics line and a dyno-manager line (`State changed from …`, `Process exited …`,
//! `Error R14 …`) are `heroku[DYNO]`, an add-on metrics line (`source=… addon=… sample#…`) is
//! `app[heroku-postgres|heroku-redis]`, a release or deploy line `app[api]`; anything else is
//! the application's own output, `app[DYNO]`. The dyno falls back to `service.instance.id`,
//! then to `otlp`.

use super::value::as_str;
use crate::classify::metrics::is_runtime_metrics;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use std::borrow::Cow;

/// Attributes that name the syslog APP-NAME (`app` or `heroku`); `appname` is what the
/// OpenTelemetry Collector's syslog receiver writes.
pub const SOURCE_KEYS: &[&str] = &["heroku.source", "appname"];
/// Attributes that name the dyno (`web.1`, `router`), in order of preference; `proc_id` is the
/// Collector syslog receiver's.
pub const DYNO_KEYS: &[&str] = &["heroku.dyno", "heroku.dyno.name", "dyno", "proc_id"];
/// The dyno of a record that names none and has no `service.instance.id`.
pub const DEFAULT_DYNO: &str = "otlp";

/// `source` and `dyno` of one record, each a single syslog header token.
pub fn origin<'a>(
    record_attrs: &'a [KeyValue],
    resource_attrs: &'a [KeyValue],
    message: &str,
) -> (Cow<'a, str>, Cow<'a, str>) {
    let find = |keys: &[&str]| {
        keys.iter()
            .find_map(|key| attr(record_attrs, key).or_else(|| attr(resource_attrs, key)))
    };
    let named_dyno = find(DYNO_KEYS);
    let dyno = || {
        token(
            named_dyno
                .or_else(|| attr(resource_attrs, "service.instance.id"))
                .or_else(|| attr(record_attrs, "service.instance.id"))
                .unwrap_or(DEFAULT_DYNO),
        )
    };
    if let Some(source) = find(SOURCE_KEYS) {
        return (token(source), dyno());
    }
    match inferred(message) {
        Some(Inferred::Router) => (Cow::Borrowed("heroku"), Cow::Borrowed("router")),
        Some(Inferred::Api) => (Cow::Borrowed("app"), Cow::Borrowed("api")),
        Some(Inferred::Addon(name)) => (Cow::Borrowed("app"), Cow::Borrowed(name)),
        Some(Inferred::RuntimeMetrics) => {
            let from_body = logfmt_value(message, "source");
            let dyno = match named_dyno.or(from_body) {
                Some(d) => Cow::Owned(token(d).into_owned()),
                None => dyno(),
            };
            (Cow::Borrowed("heroku"), dyno)
        }
        Some(Inferred::DynoManager) => (Cow::Borrowed("heroku"), dyno()),
        None => (Cow::Borrowed("app"), dyno()),
    }
}

/// What a body says about where it came from when no attribute does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inferred {
    /// `heroku[router]`.
    Router,
    /// `app[api]`: releases, deploys, config and scaling.
    Api,
    /// `app[heroku-postgres]` or `app[heroku-redis]` metrics.
    Addon(&'static str),
    /// `heroku[DYNO]` `source=… sample#…`.
    RuntimeMetrics,
    /// `heroku[DYNO]`: the dyno manager's state changes, starts, exits and R errors.
    DynoManager,
}

/// Recognises the Heroku line families from the body alone.
pub fn inferred(message: &str) -> Option<Inferred> {
    let m = message;
    if (m.starts_with("at=") || m.starts_with("sock="))
        && m.contains(" method=")
        && m.contains(" path=")
    {
        return Some(Inferred::Router);
    }
    if is_runtime_metrics(m) {
        return Some(match logfmt_value(m, "addon") {
            Some(addon) if addon.starts_with("redis-") => Inferred::Addon("heroku-redis"),
            Some(_) => Inferred::Addon("heroku-postgres"),
            None => Inferred::RuntimeMetrics,
        });
    }
    const DYNO_MANAGER: &[&str] = &[
        "State changed from ",
        "Process exited",
        "Process running mem=",
        "Stopping all processes with SIG",
        "Stopping process with SIG",
        "Cycling",
        "Idling",
        "Restarting",
        "Error R1",
    ];
    // `Starting process with command …` is the dyno manager's, `… by user …` the API's.
    if m.starts_with("Starting process with command ") {
        return Some(if m.contains(" by user ") || m.contains(" by scheduler@") {
            Inferred::Api
        } else {
            Inferred::DynoManager
        });
    }
    if DYNO_MANAGER.iter().any(|p| m.starts_with(p)) {
        return Some(Inferred::DynoManager);
    }
    const API: &[&str] = &[
        "Release v",
        "Deploy ",
        "Build started by ",
        "Build succeeded",
        "Build failed",
        "Rollback to v",
        "Scaled to ",
        "Initial release by ",
        "Running release v",
    ];
    let by_user = m.contains(" by user ");
    if API.iter().any(|p| m.starts_with(p))
        || (by_user
            && (m.starts_with("Set ") || m.starts_with("Attach ") || m.starts_with("Detach ")))
    {
        return Some(Inferred::Api);
    }
    None
}

/// The value of `key=` in a logfmt line (unquoted values only, enough for `source=`/`addon=`).
fn logfmt_value<'m>(message: &'m str, key: &str) -> Option<&'m str> {
    message.split(' ').find_map(|pair| {
        pair.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
            .filter(|v| !v.is_empty())
    })
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| as_str(kv.value.as_ref()))
}

/// A syslog header token: no spaces or control characters, at most 64 bytes, never empty.
fn token(value: &str) -> Cow<'_, str> {
    let clean = |c: char| !c.is_whitespace() && !c.is_control();
    let mut end = value.len().min(64);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let value = &value[..end];
    if value.is_empty() {
        Cow::Borrowed("-")
    } else if value.chars().all(clean) {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(
            value
                .chars()
                .map(|c| if clean(c) { c } else { '_' })
                .collect(),
        )
    }
}
