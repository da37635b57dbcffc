//! Drop and sampling verdicts on records made by the real pipeline.

use crate::pipeline::process_body;
use crate::record::{Kind, Level, LogRecord};
use crate::rules::{compile, RuleId, Rules, RulesConfig, Verdict};

/// `(APP-NAME, PROCID, MSG)` lines as one Logplex body.
fn make_body(lines: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (app, procid, msg) in lines {
        let pri = if *app == "heroku" { 158 } else { 190 };
        let m = format!("<{pri}>1 2026-11-01T10:00:00.000001+00:00 host {app} {procid} - {msg}\n");
        out.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    out
}

fn records<'a>(body: &'a [u8]) -> Vec<LogRecord<'a>> {
    let p = process_body(body, 1 << 20, 0);
    assert_eq!(p.fallbacks, 0);
    p.records
}

fn rules(toml_text: &str) -> Rules {
    #[derive(serde::Deserialize)]
    struct File {
        rules: RulesConfig,
    }
    let file: File = toml::from_str(toml_text).unwrap();
    compile(&file.rules).unwrap()
}

fn router(path: &str, status: u16, dyno: &str) -> String {
    format!(
        "at=info method=GET path=\"{path}\" host=a.herokuapp.com \
         request_id=8d9e1f2a-3b4c-4d5e-8f60-718293a4b5c6 fwd=\"203.0.113.7\" dyno={dyno} \
         connect=0ms service=2ms status={status} bytes=12 protocol=https"
    )
}

const EXAMPLE: &str = r#"
[[rules.drop]]
name = "health checks"
kind = ["router"]
path = "/health"
status = "200"

[[rules.sample]]
name = "debug chatter"
level = "debug"
keep_one_in = 10
"#;

#[test]
fn the_documented_example() {
    let rules = rules(EXAMPLE);
    assert!(rules.has_line_rules());
    assert_eq!(rules.rule_name(RuleId(0)), "health checks");
    assert_eq!(rules.rule_name(RuleId(1)), "debug chatter");
    assert_eq!(rules.rule_name(RuleId(9)), "");
    let names: Vec<_> = rules.line_rules().collect();
    assert_eq!(
        names,
        [
            (RuleId(0), "health checks", true),
            (RuleId(1), "debug chatter", false)
        ]
    );

    let health = [
        router("/health", 200, "web.1"),
        router("/health?full=1", 200, "web.2"),
        router("/health/db", 200, "web.1"),
        router("/health", 503, "web.1"),
        router("/products", 200, "web.1"),
    ];
    let lines: Vec<_> = health
        .iter()
        .map(|m| ("heroku", "router", m.as_str()))
        .chain([("app", "web.1", "GET /health 200")])
        .collect();
    let body = make_body(&lines);
    let verdicts: Vec<_> = records(&body).iter().map(|r| rules.verdict(r)).collect();
    let drop = Verdict::Drop(RuleId(0));
    assert_eq!(
        verdicts,
        [
            drop,
            drop,
            drop,
            Verdict::Keep,
            Verdict::Keep,
            Verdict::Keep
        ]
    );

    // 25 debug lines: the 1st, 11th and 21st are kept. Info lines are not counted.
    let mut lines = Vec::new();
    for i in 0..25 {
        lines.push(("app", "worker.1", "level=debug msg=\"enqueued job\""));
        if i % 5 == 0 {
            lines.push(("app", "worker.1", "level=info msg=\"cache refreshed\""));
        }
    }
    let body = make_body(&lines);
    let recs = records(&body);
    assert_eq!(recs.iter().filter(|r| r.level == Level::Debug).count(), 25);
    let mut kept_debug = Vec::new();
    let mut n = 0;
    for rec in &recs {
        let v = rules.verdict(rec);
        if rec.level == Level::Debug {
            if v == Verdict::Keep {
                kept_debug.push(n);
            } else {
                assert_eq!(v, Verdict::SampledOut(RuleId(1)));
            }
            n += 1;
        } else {
            assert_eq!(v, Verdict::Keep);
        }
    }
    assert_eq!(kept_debug, [0, 10, 20]);
}

#[test]
fn drop_rules_come_first_then_the_first_match_decides() {
    let rules = rules(
        r#"
        [[rules.sample]]
        name = "all app lines"
        kind = ["app"]
        keep_one_in = 1
        [[rules.drop]]
        name = "noise"
        message = "^noise"
        [[rules.drop]]
        name = "noise from web"
        dyno = "web"
        message = "noise"
        "#,
    );
    // Drop rules get the first ids, whatever the order of the tables in the file.
    assert_eq!(rules.rule_name(RuleId(0)), "noise");
    assert_eq!(rules.rule_name(RuleId(2)), "all app lines");
    let body = make_body(&[
        ("app", "web.1", "noise level"),
        ("app", "web.1", "some noise"),
        ("app", "worker.1", "some noise"),
        ("app", "web.1", "signal"),
    ]);
    let verdicts: Vec<_> = records(&body).iter().map(|r| rules.verdict(r)).collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Drop(RuleId(0)),
            Verdict::Drop(RuleId(1)),
            Verdict::Keep,
            Verdict::Keep
        ]
    );
}

fn matches(rules: &Rules, line: (&str, &str, &str)) -> bool {
    let body = make_body(&[line]);
    let recs = records(&body);
    rules.verdict(&recs[0]) != Verdict::Keep
}

fn drop_one(condition: &str) -> Rules {
    rules(&format!("[[rules.drop]]\nname = \"r\"\n{condition}\n"))
}

#[test]
fn level_matches_that_level_and_less_severe() {
    let info = drop_one("level = \"info\"");
    let warning = drop_one("level = \"warning\"");
    let critical = drop_one("level = \"critical\"");
    for (msg, at_info, at_warning) in [
        ("level=debug x=1", true, true),
        ("level=info x=1", true, true),
        ("level=notice x=1", false, true),
        ("level=warn x=1", false, true),
        ("level=error x=1", false, false),
        ("level=fatal x=1", false, false),
    ] {
        assert_eq!(matches(&info, ("app", "web.1", msg)), at_info, "{msg}");
        assert_eq!(
            matches(&warning, ("app", "web.1", msg)),
            at_warning,
            "{msg}"
        );
        assert!(matches(&critical, ("app", "web.1", msg)), "{msg}");
    }
}

#[test]
fn dyno_is_exact_or_a_process_type() {
    let web = drop_one("dyno = \"web\"");
    let web1 = drop_one("dyno = \"web.1\"");
    for (dyno, is_web, is_web1) in [
        ("web.1", true, true),
        ("web.12", true, false),
        ("web", true, false),
        ("webhook.1", false, false),
        ("worker.1", false, false),
        ("web.x", false, false),
    ] {
        assert_eq!(matches(&web, ("app", dyno, "hello")), is_web, "{dyno}");
        assert_eq!(matches(&web1, ("app", dyno, "hello")), is_web1, "{dyno}");
    }
    // A router line matches the dyno that served the request.
    let line = router("/", 200, "web.1");
    assert!(matches(&web1, ("heroku", "router", &line)));
    let line = router("/", 200, "web.2");
    assert!(!matches(&web1, ("heroku", "router", &line)));
    let router_rule = drop_one("dyno = \"router\"");
    assert!(matches(&router_rule, ("heroku", "router", &line)));
}

#[test]
fn status_path_kind_and_message_conditions() {
    let ok = router("/products/1?x=2", 204, "web.1");
    let missing = router("/products/1", 404, "web.1");
    for (cond, on_ok, on_missing) in [
        ("status = \"204\"", true, false),
        ("status = \"2xx\"", true, false),
        ("status = \"2XX\"", true, false),
        ("status = \"200-299\"", true, false),
        ("status = \"400-499\"", false, true),
        ("path = \"/products\"", true, true),
        ("path = \"/products/1\"", true, true),
        ("path = \"/products/1?x\"", false, false),
        ("path = \"/prod\"", true, true),
        ("path = \"/orders\"", false, false),
        ("kind = [\"router\"]", true, true),
        ("kind = [\"app\", \"api\"]", false, false),
        ("message = \"status=404\"", false, true),
        (
            "kind = [\"router\"]\nstatus = \"2xx\"\npath = \"/products\"",
            true,
            false,
        ),
    ] {
        let rules = drop_one(cond);
        assert_eq!(matches(&rules, ("heroku", "router", &ok)), on_ok, "{cond}");
        assert_eq!(
            matches(&rules, ("heroku", "router", &missing)),
            on_missing,
            "{cond}"
        );
    }
    // Path and status never match lines without them.
    assert!(!matches(
        &drop_one("status = \"2xx\""),
        ("app", "web.1", "status=200")
    ));
    assert!(!matches(
        &drop_one("path = \"/\""),
        ("app", "web.1", "path=/x")
    ));
    // Every kind.
    let kinds = [
        (("heroku", "router", ok.as_str()), Kind::Router),
        (("app", "web.1", "hello"), Kind::App),
        (
            ("app", "api", "Release v2 created by user a@b.c"),
            Kind::Api,
        ),
        (
            ("heroku", "web.1", "State changed from up to down"),
            Kind::System,
        ),
        (
            (
                "heroku",
                "web.1",
                "source=web.1 dyno=heroku.1.abc sample#load_avg_1m=0.01",
            ),
            Kind::RuntimeMetric,
        ),
        (
            (
                "app",
                "heroku-postgres",
                "source=DATABASE sample#db_size=1bytes",
            ),
            Kind::Addon,
        ),
    ];
    for (line, kind) in kinds {
        let body = make_body(&[line]);
        assert_eq!(records(&body)[0].kind, kind);
        let rule = drop_one(&format!("kind = [\"{kind}\"]"));
        assert!(matches(&rule, line), "{kind}");
        let other = drop_one(if kind == Kind::App {
            "kind = [\"router\"]"
        } else {
            "kind = [\"app\"]"
        });
        assert!(!matches(&other, line), "{kind}");
    }
}

#[test]
fn sample_counters_are_per_rule_and_shared_across_threads() {
    let rules = rules(
        r#"
        [[rules.sample]]
        name = "web"
        dyno = "web"
        keep_one_in = 10
        [[rules.sample]]
        name = "worker"
        dyno = "worker"
        keep_one_in = 3
        [[rules.sample]]
        name = "all"
        kind = ["api"]
        keep_one_in = 1
        "#,
    );
    let body = make_body(&[
        ("app", "web.1", "a"),
        ("app", "worker.1", "b"),
        ("app", "api", "Deploy 9f2c4e1a by user a@b.c"),
    ]);
    let recs = records(&body);
    let (web, worker, api) = (&recs[0], &recs[1], &recs[2]);
    let kept = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..250 {
                    if rules.verdict(web) == Verdict::Keep {
                        kept.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(kept.into_inner(), 100);
    let worker_kept: Vec<_> = (0..7)
        .map(|_| rules.verdict(worker) == Verdict::Keep)
        .collect();
    assert_eq!(worker_kept, [true, false, false, true, false, false, true]);
    assert!((0..5).all(|_| rules.verdict(api) == Verdict::Keep));
    assert_eq!(rules.verdict(worker), Verdict::SampledOut(RuleId(1)));
}

#[test]
fn no_line_rules_keeps_everything() {
    let rules = Rules::default();
    assert!(!rules.has_line_rules());
    let line = router("/health", 200, "web.1");
    assert!(!matches(&rules, ("heroku", "router", &line)));
}
