//! The `[rules]` table: parsing, defaults and every compile error.

use crate::rules::{compile, MatchRule, RedactConfig, Rules, RulesConfig, SampleRule};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: RulesConfig,
}

fn parse(toml_text: &str) -> Result<RulesConfig, String> {
    toml::from_str::<File>(toml_text)
        .map(|f| f.rules)
        .map_err(|e| e.to_string())
}

fn error(toml_text: &str) -> String {
    let cfg = parse(toml_text).unwrap();
    compile(&cfg).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn defaults() {
    let cfg = parse("").unwrap();
    assert_eq!(cfg, RulesConfig::default());
    let r = &cfg.redact;
    assert!(r.query_params && r.authorization && r.secret_keys && r.card_numbers && r.key_shapes);
    assert!(!r.emails && !r.hash_client_ips);
    assert_eq!(parse("[rules]\n[rules.redact]\n").unwrap(), cfg);
    assert!(compile(&cfg).is_ok());
    let rules = Rules::default();
    assert!(rules.redacts() && !rules.has_line_rules());
    fn shared<T: Send + Sync>() {}
    shared::<Rules>();
    shared::<std::sync::Arc<Rules>>();
}

#[test]
fn the_example_parses() {
    let cfg = parse(
        r#"
        [rules.redact]
        emails = true
        secret_names = ["pin", "x-session"]

        [[rules.redact.patterns]]
        name = "acct"
        regex = 'acct=(?P<secret>\d+)'

        [[rules.drop]]
        name = "health checks"
        kind = ["router"]
        path = "/health"
        status = "200"

        [[rules.sample]]
        name = "debug chatter"
        level = "debug"
        keep_one_in = 10
        "#,
    )
    .unwrap();
    assert!(cfg.redact.emails && cfg.redact.secret_keys);
    assert_eq!(cfg.redact.secret_names, ["pin", "x-session"]);
    assert_eq!(cfg.redact.patterns[0].replacement, None);
    assert_eq!(
        cfg.drop,
        [MatchRule {
            name: "health checks".into(),
            kind: Some(vec!["router".into()]),
            path: Some("/health".into()),
            status: Some("200".into()),
            ..MatchRule::default()
        }]
    );
    assert_eq!(
        cfg.sample,
        [SampleRule {
            matcher: MatchRule {
                name: "debug chatter".into(),
                level: Some("debug".into()),
                ..MatchRule::default()
            },
            keep_one_in: 10,
        }]
    );
    assert!(compile(&cfg).is_ok());
}

#[test]
fn unknown_keys_are_errors_everywhere() {
    for (toml_text, key) in [
        ("[rules]\nredcat = 1\n", "redcat"),
        ("[rules.redact]\nemail = true\n", "email"),
        (
            "[[rules.redact.patterns]]\nname = \"a\"\nregex = \"x\"\nreplace = \"y\"\n",
            "replace",
        ),
        (
            "[[rules.drop]]\nname = \"a\"\nstatuss = \"200\"\n",
            "statuss",
        ),
        (
            "[[rules.sample]]\nname = \"a\"\nlevel = \"debug\"\nkeep_one_in = 2\nkeep = 3\n",
            "keep",
        ),
        (
            "[[rules.sample]]\nname = \"a\"\nlevel = \"debug\"\nkeep_one_in = 2\nmatcher = 3\n",
            "matcher",
        ),
    ] {
        let err = parse(toml_text).unwrap_err();
        assert!(
            err.contains(key) && err.contains("unknown field"),
            "{toml_text}: {err}"
        );
    }
    let err = parse("[[rules.sample]]\nname = \"a\"\nlevel = \"debug\"\n").unwrap_err();
    assert!(err.contains("keep_one_in"), "{err}");
    let err =
        parse("[[rules.sample]]\nname = \"a\"\nlevel = \"debug\"\nkeep_one_in = -1\n").unwrap_err();
    assert!(
        err.contains("keep_one_in") || err.contains("invalid value"),
        "{err}"
    );
}

#[test]
fn every_compile_error() {
    let drop = |body: &str| error(&format!("[[rules.drop]]\n{body}\n"));
    assert_eq!(
        error(
            "[[rules.drop]]\nname = \"ok\"\nstatus = \"200\"\n\
             [[rules.drop]]\nname = \"health\"\nstatus = \"2x\"\n"
        ),
        r#"rules.drop[1] "health": status: "2x" is not 200, 2xx or 200-299"#
    );
    for status in [
        "600", "99", "2xxx", "299-200", "abc", "", "20O", "6xx", "200-",
    ] {
        assert!(
            drop(&format!("name = \"s\"\nstatus = \"{status}\"")).contains("is not 200, 2xx"),
            "{status}"
        );
    }
    assert_eq!(drop("kind = [\"app\"]"), "rules.drop[0]: name is empty");
    assert_eq!(
        drop("name = \"  \"\nkind = [\"app\"]"),
        "rules.drop[0] \"  \": name is empty"
    );
    assert_eq!(
        error(
            "[[rules.drop]]\nname = \"a\"\nkind = [\"app\"]\n\
             [[rules.sample]]\nname = \"a\"\nkind = [\"app\"]\nkeep_one_in = 2\n"
        ),
        r#"rules.sample[0] "a": name is used by another drop or sample rule"#
    );
    assert_eq!(
        drop("name = \"k\"\nkind = [\"router\", \"web\"]"),
        r#"rules.drop[0] "k": kind: "web" is not one of router, app, api, system, runtime_metric, addon"#
    );
    assert_eq!(
        drop("name = \"k\"\nkind = []"),
        r#"rules.drop[0] "k": kind: the list is empty"#
    );
    assert_eq!(
        drop("name = \"l\"\nlevel = \"warn\""),
        r#"rules.drop[0] "l": level: "warn" is not one of debug, info, notice, warning, error, critical"#
    );
    assert!(drop("name = \"m\"\nmessage = \"(unclosed\"")
        .starts_with(r#"rules.drop[0] "m": message: bad regex:"#));
    assert_eq!(
        drop("name = \"n\""),
        r#"rules.drop[0] "n": no condition: give at least one of kind, dyno, level, path, status, message"#
    );
    assert_eq!(
        drop("name = \"p\"\npath = \"health\""),
        r#"rules.drop[0] "p": path: "health" does not start with /"#
    );
    assert_eq!(
        drop("name = \"d\"\ndyno = \"\""),
        r#"rules.drop[0] "d": dyno: empty"#
    );
    assert_eq!(
        error("[[rules.sample]]\nname = \"s\"\nlevel = \"debug\"\nkeep_one_in = 0\n"),
        r#"rules.sample[0] "s": keep_one_in must be at least 1"#
    );
    assert_eq!(
        error("[[rules.sample]]\nname = \"s\"\nkeep_one_in = 5\n"),
        r#"rules.sample[0] "s": no condition: give at least one of kind, dyno, level, path, status, message"#
    );

    assert_eq!(
        error("[rules.redact]\nhash_client_ips = true\n"),
        "rules.redact: hash_client_ips needs a non-empty ip_hash_salt"
    );
    assert_eq!(
        error("[rules.redact]\nhash_client_ips = true\nip_hash_salt = \"\"\n"),
        "rules.redact: hash_client_ips needs a non-empty ip_hash_salt"
    );
    assert_eq!(
        error("[rules.redact]\nsecret_names = [\"ok\", \"two words\"]\n"),
        r#"rules.redact.secret_names[1]: "two words" is not a key name (letters, digits, _ and -)"#
    );
    let pattern = |body: &str| error(&format!("[[rules.redact.patterns]]\n{body}\n"));
    assert_eq!(
        pattern("regex = \"x\""),
        "rules.redact.patterns[0]: name is empty"
    );
    assert!(pattern("name = \"p\"\nregex = \"a[\"")
        .starts_with(r#"rules.redact.patterns[0] "p": regex: "#));
    assert_eq!(
        pattern("name = \"p\"\nregex = \"a*\""),
        r#"rules.redact.patterns[0] "p": regex: matches the empty string"#
    );
    assert_eq!(
        pattern("name = \"emails\"\nregex = \"x\""),
        r#"rules.redact.patterns[0] "emails": name is taken by a builtin redaction"#
    );
    assert_eq!(
        error(
            "[[rules.redact.patterns]]\nname = \"p\"\nregex = \"x\"\n\
             [[rules.redact.patterns]]\nname = \"p\"\nregex = \"y\"\n"
        ),
        r#"rules.redact.patterns[1] "p": name is used by another pattern"#
    );
}

#[test]
fn hash_client_ips_with_a_salt_compiles() {
    let cfg = RulesConfig {
        redact: RedactConfig {
            hash_client_ips: true,
            ip_hash_salt: Some("s".into()),
            ..RedactConfig::default()
        },
        ..RulesConfig::default()
    };
    assert!(compile(&cfg).is_ok());
}

#[test]
fn rules_that_change_nothing_compile_and_change_nothing() {
    let rules = Rules::none();
    assert!(!rules.redacts() && !rules.has_line_rules());
    let secret = "password=hunter2 Authorization: Bearer abcdef0123456789xyz 4111 1111 1111 1111";
    assert_eq!(rules.redact("app", "web.1", secret), None);
}
