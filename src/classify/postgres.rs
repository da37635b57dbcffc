//! PURE: Heroku Postgres server logs, `app[postgres.<pid>]` (docs/wire.md, "Metrics lines"):
//! `[ATTACHMENT] [STATEMENT-PART]  sql_error_code = CODE SEVERITY:  text`, where a long
//! statement continues over parts `[7-1]`, `[7-2]`, … Gives `database`, `statement`, `part`,
//! `sql_error_code`, `severity` and `duration_ms`, and the level from the severity.

use super::Extract;
use crate::record::{Columns, Fields, Level, Text, Value};
use std::borrow::Cow;

/// Extracts a Postgres server line's fields.
pub fn extract(text: &str) -> Extract<'_> {
    let mut fields: Vec<(Text<'_>, Value<'_>)> = Vec::with_capacity(6);
    let mut level = Level::Info;
    let mut rest = text;
    if let Some((database, after)) = bracketed(rest) {
        fields.push((
            Cow::Borrowed("database"),
            Value::Str(Cow::Borrowed(database)),
        ));
        rest = after;
    }
    if let Some((position, after)) = bracketed(rest.trim_start()) {
        if let Some((statement, part)) = position.split_once('-') {
            if let (Ok(statement), Ok(part)) = (statement.parse::<i64>(), part.parse::<i64>()) {
                fields.push((Cow::Borrowed("statement"), Value::Int(statement)));
                fields.push((Cow::Borrowed("part"), Value::Int(part)));
                rest = after;
            }
        }
    }
    if let Some(after) = rest.trim_start().strip_prefix("sql_error_code = ") {
        let (code, after) = after.split_once(' ').unwrap_or((after, ""));
        fields.push((
            Cow::Borrowed("sql_error_code"),
            Value::Str(Cow::Borrowed(code)),
        ));
        if let Some((severity, after)) = after.split_once(':') {
            if !severity.is_empty()
                && severity
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                fields.push((
                    Cow::Borrowed("severity"),
                    Value::Str(Cow::Borrowed(severity)),
                ));
                level = severity_level(severity);
                if let Some(ms) = duration(after) {
                    fields.push((Cow::Borrowed("duration_ms"), Value::Float(ms)));
                }
            }
        }
    }
    Extract {
        level: Some(level),
        columns: Columns::default(),
        fields: if fields.is_empty() {
            Fields::None
        } else {
            Fields::Pairs(fields)
        },
        dropped: 0,
    }
}

/// `[X] rest` → (`X`, `rest`).
fn bracketed(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('[')?;
    let end = inner.find(']')?;
    Some((&inner[..end], &inner[end + 1..]))
}

/// `  duration: 2688.600 ms  …` → 2688.6.
fn duration(text: &str) -> Option<f64> {
    let rest = text.trim_start().strip_prefix("duration: ")?;
    let (number, unit) = rest.split_once(' ')?;
    unit.starts_with("ms")
        .then(|| number.parse().ok())
        .flatten()
}

/// Postgres' message severities as levels.
fn severity_level(severity: &str) -> Level {
    match severity {
        "WARNING" => Level::Warning,
        "ERROR" => Level::Error,
        "FATAL" | "PANIC" => Level::Critical,
        s if s.starts_with("DEBUG") => Level::Debug,
        _ => Level::Info,
    }
}

#[cfg(test)]
mod tests;
