//! PURE: `app[api]` and legacy `heroku[api]` lines (docs/wire.md, "API lines"): releases, deploys,
//! builds, config vars, scaling (`Scaled to web@2:Standard-1X` and `Scale to web=2`), add-on
//! attach/detach, rollbacks and one-off runs, in current and older wordings. Anything else is
//! `action: other`, so a new verb is never lost, only less typed.

use super::Extract;
use crate::record::{Columns, Fields, Level, Scale, Text, Value};
use std::borrow::Cow;

/// Extracts an API event's `action`, `user` and details.
pub fn extract(text: &str) -> Extract<'_> {
    let text = text.trim_end();
    let (what, user) = split_user(text);
    let mut fields: Vec<(Text<'_>, Value<'_>)> = Vec::with_capacity(4);
    let mut level = Level::Info;
    let action;
    let mut details: Vec<(&'static str, Value<'_>)> = Vec::new();
    if let Some(rest) = what.strip_prefix("Release v") {
        action = "release";
        details.extend(version(rest));
    } else if let Some(rest) = what.strip_prefix("Running release v") {
        action = "release";
        details.extend(version(rest));
    } else if what.starts_with("Initial release") {
        action = "release";
    } else if let Some(rest) = what.strip_prefix("Deploy ") {
        action = "deploy";
        if let Some(commit) = rest.split(' ').next().filter(|c| !c.is_empty()) {
            details.push(("commit", Value::Str(Cow::Borrowed(commit))));
        }
    } else if what.starts_with("Build ") {
        action = "build";
        if what.starts_with("Build failed") {
            level = Level::Error;
        }
    } else if let Some(rest) = what.strip_prefix("Rollback to v") {
        action = "rollback";
        details.extend(version(rest));
    } else if let Some(vars) = config_vars(what) {
        action = "config";
        details.push(("config_vars", Value::List(vars)));
    } else if let Some(rest) = what.strip_prefix("Scaled to ") {
        action = "scale";
        details.push(("formation", Value::Formation(formation(rest, '@'))));
    } else if let Some(rest) = what.strip_prefix("Scale to ") {
        action = "scale";
        details.push(("formation", Value::Formation(formation(rest, '='))));
    } else if what.starts_with("Starting process with command ") {
        action = "run";
    } else if what.starts_with("Attach ")
        || what.starts_with("Detach ")
        || what.starts_with("Update ")
        || what.starts_with("Add-on ")
        || what.starts_with("Remove ")
    {
        action = "addon";
    } else if let Some((_, var)) = what
        .strip_prefix("@ref:")
        .and_then(|r| r.split_once(" completed provisioning, setting "))
    {
        action = "addon";
        let var = var.trim_end_matches('.');
        if !var.is_empty() {
            details.push(("config_vars", Value::List(vec![Cow::Borrowed(var)])));
        }
    } else {
        action = "other";
    }

    fields.push((Cow::Borrowed("action"), Value::Str(Cow::Borrowed(action))));
    if let Some(user) = user {
        fields.push((Cow::Borrowed("user"), Value::Str(Cow::Borrowed(user))));
    }
    fields.extend(details.into_iter().map(|(k, v)| (Cow::Borrowed(k), v)));
    Extract {
        level: Some(level),
        columns: Columns::default(),
        fields: Fields::Pairs(fields),
        dropped: 0,
    }
}

/// Splits `… by user someone@example.com` (or the older `… by someone@example.com`) into the
/// event and the user.
fn split_user(text: &str) -> (&str, Option<&str>) {
    if let Some(at) = text.rfind(" by user ") {
        let user = &text[at + " by user ".len()..];
        if !user.is_empty() && !user.contains(' ') {
            return (&text[..at], Some(user));
        }
    }
    if let Some(at) = text.rfind(" by ") {
        let user = &text[at + " by ".len()..];
        if user.contains('@') && !user.contains(' ') {
            return (&text[..at], Some(user));
        }
    }
    (text, None)
}

/// `142 created` → `version: 142`.
fn version(rest: &str) -> Option<(&'static str, Value<'static>)> {
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    Some(("version", Value::Int(digits.parse().ok()?)))
}

/// `Set A, B config vars`, `Unset A config vars`, `Remove A config vars`, legacy `Add A config`
/// and `Config add A` → the variable names.
fn config_vars(what: &str) -> Option<Vec<Text<'_>>> {
    let list = if let Some(rest) = what
        .strip_prefix("Config add ")
        .or(what.strip_prefix("Config remove "))
    {
        rest
    } else {
        let verb_end = what.find(' ')?;
        let (verb, rest) = what.split_at(verb_end);
        if !matches!(verb, "Set" | "Unset" | "Remove" | "Add") {
            return None;
        }
        rest.strip_suffix(" config vars")
            .or_else(|| rest.strip_suffix(" config var"))
            .or_else(|| rest.strip_suffix(" config"))?
    };
    let vars: Vec<Text<'_>> = list
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(Cow::Borrowed)
        .collect();
    (!vars.is_empty()).then_some(vars)
}

/// `console@0:Basic web@2:Standard-1X` (separator `@`) or `mailer=1, web=3` (separator `=`).
fn formation(text: &str, separator: char) -> Vec<Scale<'_>> {
    text.split([' ', ','])
        .filter_map(|item| {
            let (process, rest) = item.split_once(separator)?;
            let (quantity, size) = match rest.split_once(':') {
                Some((q, s)) => (q, Some(Cow::Borrowed(s))),
                None => (rest, None),
            };
            Some(Scale {
                process: Cow::Borrowed(process),
                quantity: quantity.parse().ok()?,
                size,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
