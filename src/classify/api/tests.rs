use super::*;

fn get<'a>(e: &'a Extract<'_>, key: &str) -> Option<&'a Value<'a>> {
    e.field(key)
}

fn s(v: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(v))
}

#[test]
fn releases_deploys_and_rollbacks() {
    let e = extract("Release v142 created by user dev@acme-shop.example");
    assert_eq!(get(&e, "action"), Some(&s("release")));
    assert_eq!(get(&e, "version"), Some(&Value::Int(142)));
    assert_eq!(get(&e, "user"), Some(&s("dev@acme-shop.example")));
    let e = extract("Release v1822 created by foo@example.com");
    assert_eq!(get(&e, "user"), Some(&s("foo@example.com")));
    let e = extract("Deploy b8949a05 by user dev@acme-shop.example");
    assert_eq!(get(&e, "commit"), Some(&s("b8949a05")));
    let e = extract("Rollback to v140 by user ops@acme-shop.example");
    assert_eq!(get(&e, "action"), Some(&s("rollback")));
    assert_eq!(get(&e, "version"), Some(&Value::Int(140)));
    let e = extract("Running release v143 commands by user dev@acme-shop.example");
    assert_eq!(get(&e, "version"), Some(&Value::Int(143)));
}

#[test]
fn builds_and_failures() {
    assert_eq!(extract("Build succeeded").level, Some(Level::Info));
    let e = extract("Build failed -- check your build output: https://dashboard.heroku.com/apps/x/activity/builds/y");
    assert_eq!(get(&e, "action"), Some(&s("build")));
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(get(&e, "user"), None);
}

#[test]
fn config_vars_in_every_wording() {
    let list =
        |items: &[&'static str]| Value::List(items.iter().map(|i| Cow::Borrowed(*i)).collect());
    let e = extract("Set LANG, RACK_ENV config vars by user dev@acme-shop.example");
    assert_eq!(get(&e, "action"), Some(&s("config")));
    assert_eq!(get(&e, "config_vars"), Some(&list(&["LANG", "RACK_ENV"])));
    let e = extract("Add ZOMGZOMG config by foo@example.com");
    assert_eq!(get(&e, "config_vars"), Some(&list(&["ZOMGZOMG"])));
    let e = extract("Config add PATH by user@example.com");
    assert_eq!(get(&e, "config_vars"), Some(&list(&["PATH"])));
}

#[test]
fn scaling_in_both_forms() {
    let e = extract("Scaled to console@0:Basic web@2:Standard-1X by user dev@acme-shop.example");
    assert_eq!(
        get(&e, "formation"),
        Some(&Value::Formation(vec![
            Scale {
                process: "console".into(),
                quantity: 0,
                size: Some("Basic".into())
            },
            Scale {
                process: "web".into(),
                quantity: 2,
                size: Some("Standard-1X".into())
            },
        ]))
    );
    let e = extract("Scale to mailer=1, web=3 by someuser@example.com");
    assert_eq!(
        get(&e, "formation"),
        Some(&Value::Formation(vec![
            Scale {
                process: "mailer".into(),
                quantity: 1,
                size: None
            },
            Scale {
                process: "web".into(),
                quantity: 3,
                size: None
            },
        ]))
    );
}

#[test]
fn add_ons_runs_and_others() {
    for (line, action) in [
        (
            "Attach DATABASE (@ref:postgresql-flexible-35202) by user dev@acme-shop.example",
            "addon",
        ),
        (
            "Detach HEROKU_REDIS_MAUVE (@ref:redis-rugged-24473) by user ops@acme-shop.example",
            "addon",
        ),
        ("Update LOGDNA by user ops@acme-shop.example", "addon"),
        (
            "Starting process with command `bash` by user dev@acme-shop.example",
            "run",
        ),
        (
            "Initial release by user new-dev@acme-shop.example",
            "release",
        ),
        ("Enable Logplex by user new-dev@acme-shop.example", "other"),
    ] {
        assert_eq!(get(&extract(line), "action"), Some(&s(action)), "{line}");
    }
    let e = extract("@ref:postgresql-flexible-35202 completed provisioning, setting DATABASE_URL. by user dev@acme-shop.example");
    assert_eq!(get(&e, "action"), Some(&s("addon")));
    assert_eq!(
        get(&e, "config_vars"),
        Some(&Value::List(vec!["DATABASE_URL".into()]))
    );
}
