//! PURE: `sample#` metrics lines (docs/wire.md, "Metrics lines"): log-runtime-metrics from `heroku[<dyno>]`
//! (`source=web.1 dyno=heroku.… sample#memory_total=21.00MB …`) and add-on metrics from
//! `app[heroku-postgres|heroku-redis|heroku-pgbouncer]`. Each sample becomes a number with its
//! unit suffix (`MB`, `kB`, `bytes`, `pages`) removed; integers stay integers.

use super::logfmt::{self, number_with_unit};
use super::Extract;
use crate::record::{Columns, Fields, Level, Text, Value};
use std::borrow::Cow;

/// Whose metrics these are: decides the names of the identifying keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// log-runtime-metrics: `source`, and `dyno` renamed `dyno_id`.
    Runtime,
    /// An add-on: `source` and `addon` as written.
    Addon,
}

/// Whether a `heroku[<dyno>]` message is a runtime-metrics line.
pub fn is_runtime_metrics(text: &str) -> bool {
    // A space followed by `sample#`; spaces are few, so this beats building a substring finder.
    let b = text.as_bytes();
    text.starts_with("source=")
        && memchr::memchr_iter(b' ', b).any(|at| b[at + 1..].starts_with(b"sample#"))
}

/// Extracts the identifying keys and every sample.
pub fn extract(text: &str, origin: Origin) -> Extract<'_> {
    let mut fields: Vec<(Text<'_>, Value<'_>)> = Vec::with_capacity(16);
    for pair in logfmt::pairs(text) {
        if let Some(name) = pair.key.strip_prefix("sample#") {
            let value = match number_with_unit(pair.value) {
                Some((number, _unit)) => number,
                None => Value::Str(pair.text()),
            };
            fields.push((Cow::Borrowed(name), value));
            continue;
        }
        let key = match (origin, pair.key) {
            (Origin::Runtime, "dyno") => "dyno_id",
            (_, key) => key,
        };
        fields.push((Cow::Borrowed(key), Value::Str(pair.text())));
    }
    Extract {
        level: Some(Level::Info),
        columns: Columns::default(),
        fields: Fields::Pairs(fields),
        dropped: 0,
    }
}

#[cfg(test)]
mod tests;
