use super::*;

fn spec(toml_text: &str) -> RuleSpec {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_config_rule_validates_with_its_defaults() {
    let rule = spec(
        r#"name = "h12"
app = "shop"
kind = "count"
filter = "code=H12"
window = "5m"
notify = ["https://hooks.slack.com/services/T/B/x", {url = "https://am.example/hook", format = "alertmanager"}, "https://example.com/h?k=s"]"#,
    )
    .validate(None)
    .unwrap();
    assert_eq!(rule.kind, AlertKind::Count);
    assert_eq!(rule.threshold, 1.0);
    assert_eq!(rule.window, Duration::from_secs(300));
    assert_eq!(rule.for_, Duration::ZERO);
    let formats: Vec<_> = rule.notify.iter().map(|t| t.format).collect();
    assert_eq!(
        formats,
        vec![Format::Slack, Format::Alertmanager, Format::Webhook]
    );
    assert_eq!(rule.notify[0].shown(), "https://hooks.slack.com/…");
    assert_eq!(rule.notify[2].shown(), "https://example.com/…");
}

#[test]
fn every_mistake_names_its_key() {
    let base = "name = \"r\"\napp = \"shop\"\nwindow = \"5m\"\n";
    let err = |extra: &str| {
        spec(&format!("{base}{extra}"))
            .validate(None)
            .unwrap_err()
            .key
    };
    assert_eq!(err("kind = \"median\""), "kind");
    assert_eq!(err("kind = \"count\"\nfilter = \"status=7zz\""), "filter");
    assert_eq!(err("kind = \"count\"\nfilter = \"since=1h\""), "filter");
    assert_eq!(err("kind = \"rate\""), "threshold");
    assert_eq!(err("kind = \"rate\"\nthreshold = 2.0"), "threshold");
    assert_eq!(err("kind = \"loss\"\nfilter = \"dyno=web.1\""), "filter");
    assert_eq!(err("kind = \"count\"\nfor = \"soon\""), "for");
    assert_eq!(err("kind = \"count\"\nnotify = [\"ftp://x\"]"), "notify[0]");
    let no_app = spec("name = \"r\"\nkind = \"count\"\nwindow = \"1m\"");
    assert_eq!(no_app.validate(None).unwrap_err().key, "app");
    let bad_name = spec("name = \"a b\"\napp = \"shop\"\nkind = \"count\"\nwindow = \"1m\"");
    assert_eq!(bad_name.validate(None).unwrap_err().key, "name");
}

#[test]
fn unknown_keys_are_refused() {
    let r: Result<RuleSpec, _> =
        toml::from_str("name = \"r\"\napp = \"shop\"\nkind = \"count\"\nwindow = \"1m\"\nwhen = 1");
    assert!(r.is_err());
}

#[test]
fn the_url_app_wins_and_must_agree() {
    let s = spec("name = \"r\"\nkind = \"absence\"\nwindow = \"1m\"");
    assert_eq!(s.clone().validate(Some("shop")).unwrap().app, "shop");
    let s = spec("name = \"r\"\napp = \"other\"\nkind = \"absence\"\nwindow = \"1m\"");
    assert_eq!(s.validate(Some("shop")).unwrap_err().key, "app");
}

#[test]
fn breaches_compare_by_kind() {
    assert!(AlertKind::Count.breaches(Some(3.0), 3.0));
    assert!(!AlertKind::Count.breaches(Some(2.0), 3.0));
    assert!(AlertKind::Absence.breaches(Some(0.0), 1.0));
    assert!(AlertKind::Absence.breaches(None, 1.0));
    assert!(!AlertKind::Absence.breaches(Some(1.0), 1.0));
    assert!(!AlertKind::Latency.breaches(None, 500.0));
}

#[test]
fn the_readme_examples_validate() {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("[[alerts]]"))
        .unwrap_or_default();
    let specs = crate::cli::alerts_table(block).unwrap_or_else(|e| panic!("{e}"));
    let rules = validate_config(specs).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<_> = rules.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            AlertKind::Rate,
            AlertKind::Count,
            AlertKind::Latency,
            AlertKind::Absence,
            AlertKind::Loss
        ]
    );
}
