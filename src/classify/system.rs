//! PURE: the dyno manager (`heroku[web.1]`, PROCID = dyno), Logplex (`heroku[logplex]`) and
//! log-shuttle (`app[log-shuttle]`) lines (docs/wire.md, "Platform lines", "Loss lines"): state changes, starts with
//! their command, exits with their status, stops, restarts, cycling, idling, memory reports,
//! `Error R1x`, and the L10/L12/L13 loss reports with their counts.

use super::loss::parse_loss;
use super::{error_code, Extract};
use crate::record::{Columns, Fields, Level, Text, Value};
use std::borrow::Cow;

/// Extracts a platform line's `event` and details.
pub fn extract(text: &str) -> Extract<'_> {
    let mut columns = Columns::default();
    let mut fields: Vec<(Text<'_>, Value<'_>)> = Vec::with_capacity(3);
    let mut level = Level::Info;
    let mut dropped = 0;
    let event = |name: &'static str| (Cow::Borrowed("event"), Value::Str(Cow::Borrowed(name)));

    if let Some(rest) = text.strip_prefix("State changed from ") {
        fields.push(event("state_change"));
        if let Some((from, to)) = rest.split_once(" to ") {
            fields.push((Cow::Borrowed("from"), Value::Str(Cow::Borrowed(from))));
            fields.push((
                Cow::Borrowed("to"),
                Value::Str(Cow::Borrowed(to.trim_end())),
            ));
            if to.trim_end() == "crashed" {
                level = Level::Error;
            }
        }
    } else if let Some(rest) = text.strip_prefix("Starting process with command ") {
        fields.push(event("starting"));
        fields.push((
            Cow::Borrowed("command"),
            Value::Str(Cow::Borrowed(unquote(rest))),
        ));
    } else if text.starts_with("Stopping ") && text.contains(" with SIG") {
        fields.push(event("stopping"));
    } else if let Some(rest) = text.strip_prefix("Process exited") {
        fields.push(event("exited"));
        if let Some(status) = rest
            .strip_prefix(" with status ")
            .and_then(|s| s.trim_end().parse::<i64>().ok())
        {
            fields.push((Cow::Borrowed("exit_status"), Value::Int(status)));
            if status != 0 && status != 143 {
                level = Level::Error;
            }
        }
    } else if let Some(rest) = text.strip_prefix("Process running mem=") {
        fields.push(event("memory"));
        if let Some((mb, pct)) = memory(rest) {
            fields.push((Cow::Borrowed("memory_mb"), mb));
            fields.push((Cow::Borrowed("memory_pct"), Value::Float(pct)));
            if pct > 100.0 {
                level = Level::Warning;
            }
        }
    } else if let Some(loss) = parse_loss(text) {
        fields.push(event("dropped"));
        columns.code = Some(Cow::Borrowed(loss.code));
        fields.push((Cow::Borrowed("dropped"), Value::Int(saturate(loss.dropped))));
        dropped = loss.dropped;
        level = Level::Error;
    } else if let Some(error) = error_code(text) {
        fields.push(event("error"));
        columns.code = Some(Cow::Borrowed(error.code));
        if let Some(desc) = error.desc {
            fields.push((Cow::Borrowed("desc"), Value::Str(Cow::Borrowed(desc))));
        }
        level = if error.code == "R15" {
            Level::Critical
        } else {
            Level::Error
        };
    } else {
        let name = match text.trim_end() {
            "Restarting" => "restarting",
            "Cycling" => "cycling",
            "Idling" | "Unidling" => "idling",
            _ => "other",
        };
        fields.push(event(name));
    }
    Extract {
        level: Some(level),
        columns,
        fields: Fields::Pairs(fields),
        dropped,
    }
}

/// A command with or without the backticks Heroku usually puts around it.
fn unquote(command: &str) -> &str {
    let command = command.trim_end();
    command
        .strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .unwrap_or(command)
}

/// `870M(170.1%)` or `1028MB(103.3%)` → (megabytes, percent of quota).
fn memory(text: &str) -> Option<(Value<'static>, f64)> {
    let (amount, rest) = text.split_once('(')?;
    let amount = amount.trim_end_matches("MB").trim_end_matches('M');
    let mb = match amount.parse::<i64>() {
        Ok(n) => Value::Int(n),
        Err(_) => Value::Float(amount.parse::<f64>().ok()?),
    };
    let pct = rest.split_once('%')?.0.parse::<f64>().ok()?;
    Some((mb, pct))
}

/// A count as a JSON integer.
fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
