//! Settings from a TOML file (`--config`): the file fills in what neither a flag nor an
//! environment variable gave, by appending `--flag=value` to the command line before clap
//! parses it, so every value goes through the same validation as a flag.

use super::Cli;

/// The command line with a `--flag value` appended for every setting of the TOML `text` that
/// the command line and the environment (`env_set`) leave unset. Settings of other commands
/// are skipped (one file serves `serve` and `apps` alike); unknown keys and values that are
/// neither strings, numbers nor booleans are errors.
pub fn with_file_settings(
    argv: &[String],
    text: &str,
    env_set: impl Fn(&str) -> bool,
) -> Result<Vec<String>, String> {
    use clap::CommandFactory as _;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned())?;
    let root = Cli::command();
    // The subcommand path on the command line (`serve`, `apps create`, …): its arguments and
    // the global ones are what the file may set.
    let mut command = &root;
    let mut args: Vec<&clap::Arg> = root.get_arguments().collect();
    for word in argv.iter().skip(1).filter(|a| !a.starts_with('-')) {
        if let Some(sub) = command.find_subcommand(word) {
            command = sub;
            args.extend(sub.get_arguments());
        }
    }
    let known: Vec<String> = args
        .iter()
        .filter(|a| a.get_long().is_some() && a.get_id() != "config")
        .map(|a| a.get_id().to_string())
        .collect();
    let mut out = argv.to_vec();
    for (key, value) in &table {
        // `[rules]` and `[[alerts]]` are not flags: `rules_table` and `alerts_table` read them.
        if key == "rules" || key == "alerts" {
            continue;
        }
        let Some(arg) = args
            .iter()
            .find(|a| a.get_id() == key.as_str() && a.get_long().is_some())
        else {
            let all = root_settings();
            return Err(if all.contains(key) {
                format!("`{key}` does not apply to this command")
            } else {
                format!(
                    "unknown setting `{key}`; known settings: {}",
                    known.join(", ")
                )
            });
        };
        let long = arg.get_long().unwrap_or_default();
        let value = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "`{key}`: expected a string, a number or a boolean, got {}",
                    other.type_str()
                ))
            }
        };
        let on_command_line = argv
            .iter()
            .any(|a| a == &format!("--{long}") || a.starts_with(&format!("--{long}=")));
        let in_env = arg.get_env().and_then(|e| e.to_str()).is_some_and(&env_set);
        if !on_command_line && !in_env {
            out.push(format!("--{long}={value}"));
        }
    }
    Ok(out)
}

/// Every setting id of every command, for telling "unknown" from "not for this command".
fn root_settings() -> Vec<String> {
    use clap::CommandFactory as _;
    fn walk(c: &clap::Command, out: &mut Vec<String>) {
        out.extend(
            c.get_arguments()
                .filter(|a| a.get_long().is_some())
                .map(|a| a.get_id().to_string()),
        );
        for sub in c.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &mut out);
    out
}

/// The `[rules]` table of the TOML `text`, when it has one; a wrong key or value is an error
/// naming it.
pub fn rules_table(text: &str) -> Result<Option<crate::rules::RulesConfig>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned())?;
    match table.get("rules") {
        None => Ok(None),
        Some(value) => value
            .clone()
            .try_into()
            .map(Some)
            .map_err(|e: toml::de::Error| format!("[rules]: {}", e.message())),
    }
}

/// The `[[alerts]]` of the TOML `text` (none when absent); a wrong key or value is an error
/// naming the rule and the key. The rules are validated by `alerts::RuleSpec::validate`.
pub fn alerts_table(text: &str) -> Result<Vec<crate::alerts::RuleSpec>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned())?;
    match table.get("alerts") {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(rules)) => rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| format!("[[alerts]] #{}: {}", i + 1, e.message()))
            })
            .collect(),
        Some(_) => Err("`alerts` must be an array of tables: [[alerts]]".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, ServeArgs};
    use clap::CommandFactory as _;
    use clap::Parser as _;
    use std::time::Duration;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn serve_args(argv: &[String]) -> ServeArgs {
        match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(Command::Serve(s)) => *s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let file = "max_body = \"1MiB\"\nmax_frame = \"64KiB\"\nwriters = 3\nack_timeout = \"3s\"";
        let cmd = argv(&["logdrain", "serve", "--max-body", "2MiB"]);
        // max_body: on the command line; max_frame: "in the environment"; the rest from the file.
        let out =
            with_file_settings(&cmd, file, |name| name == "LOGDRAIN_MAX_FRAME").unwrap_or_default();
        assert!(!out.iter().any(|a| a.starts_with("--max-body=")));
        assert!(!out.iter().any(|a| a.starts_with("--max-frame=")));
        let serve = serve_args(&out);
        assert_eq!(serve.max_body, 2 * 1024 * 1024);
        assert_eq!(serve.writers, 3);
        assert_eq!(serve.ack_timeout, Duration::from_secs(3));
        // Not in the file: the default.
        assert_eq!(serve.retry_after, Duration::from_secs(1));
    }

    #[test]
    fn unknown_keys_wrong_commands_and_bad_values_are_clear_errors() {
        let cmd = argv(&["logdrain", "serve"]);
        let err = with_file_settings(&cmd, "max_bodyy = \"1MiB\"", |_| false).unwrap_err();
        assert!(err.contains("unknown setting `max_bodyy`"), "{err}");
        assert!(err.contains("max_body"), "lists the known ones: {err}");
        let err = with_file_settings(
            &argv(&["logdrain", "migrate"]),
            "max_body = \"1MiB\"",
            |_| false,
        )
        .unwrap_err();
        assert!(err.contains("does not apply"), "{err}");
        let err = with_file_settings(&cmd, "writers = [1]", |_| false).unwrap_err();
        assert!(err.contains("writers"), "{err}");
        assert!(with_file_settings(&cmd, "not toml", |_| false).is_err());
        let out = with_file_settings(&cmd, "max_body = \"lots\"", |_| false).unwrap_or_default();
        let err = Cli::try_parse_from(&out)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("max-body"), "{err}");
    }

    #[test]
    fn alert_rules_are_read_from_the_file_and_their_mistakes_named() {
        let text = "writers = 2\n[[alerts]]\nname = \"h12\"\napp = \"shop\"\nkind = \"count\"\n\
                    filter = \"code=H12\"\nwindow = \"5m\"\n";
        let rules = alerts_table(text).unwrap_or_default();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].name, "h12");
        // The alerts are not settings: the rest of the file still is.
        let out = with_file_settings(&argv(&["logdrain", "serve"]), text, |_| false);
        assert!(out.is_ok_and(|a| a.iter().any(|a| a == "--writers=2")));
        let err = alerts_table("[[alerts]]\nname = \"x\"\nwindoww = \"5m\"").unwrap_err();
        assert!(
            err.contains("[[alerts]] #1") && err.contains("windoww"),
            "{err}"
        );
        let err = crate::alerts::rule::validate_config(
            alerts_table(&format!("{}{}", &text[12..], &text[12..])).unwrap_or_default(),
        )
        .unwrap_err();
        assert!(
            err.contains("#2 (h12)") && err.contains("two rules"),
            "{err}"
        );
        assert!(alerts_table("alerts = 1").is_err());
    }

    #[test]
    fn the_example_file_documents_every_setting_and_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/logdrain.example.toml");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let settings: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .map(|l| l.split("  ").next().unwrap_or(l).trim().to_owned() + "\n")
            .collect();
        let serve = Cli::command();
        let serve = serve.find_subcommand("serve").cloned().unwrap_or_default();
        let mut ids: Vec<String> = serve
            .get_arguments()
            .chain(Cli::command().get_arguments())
            .filter(|a| a.get_long().is_some() && a.get_id() != "config" && !a.is_hide_set())
            .map(|a| a.get_id().to_string())
            .collect();
        ids.sort();
        ids.dedup();
        for id in &ids {
            assert!(
                settings.lines().any(|l| l.starts_with(&format!("{id} = "))),
                "{id} is not in the example file"
            );
        }
        // Uncommented, every line is accepted.
        let out = with_file_settings(&argv(&["logdrain", "serve"]), &settings, |_| false)
            .unwrap_or_default();
        assert!(Cli::try_parse_from(&out).is_ok(), "{settings}");
    }
}
