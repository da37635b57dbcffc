//! Drop, sample and redaction rules applied to the lines of a real body.

use crate::pipeline::process_body;
use crate::rules::{apply, compile, Rules, RulesConfig};
use std::borrow::Cow;

fn body(lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
    }
    out
}

const ROUTER: &str = "<158>1 2026-11-21T10:00:00.000000+00:00 host heroku router - at=info method=GET path=\"/cb?access_token=ya29.a0AfB_secret&state=x\" host=shop.herokuapp.com request_id=8d9e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a fwd=\"203.0.113.7\" dyno=web.1 connect=1ms service=12ms status=200 bytes=512 protocol=https\n";

#[test]
fn a_redacted_router_line_is_classified_again_from_its_redacted_text() {
    let rules = Rules::default();
    let b = body(&[ROUTER]);
    let mut processed = process_body(&b, 1 << 20, 0);
    let applied = apply(&rules, &mut processed.records);
    assert_eq!(applied.redacted.len(), 1, "{applied:?}");
    let rec = &processed.records[0];
    assert!(!rec.message.contains("ya29"), "{}", rec.message);
    assert!(!String::from_utf8_lossy(&rec.raw).contains("ya29"));
    assert_eq!(
        rec.columns.path.as_deref(),
        Some("/cb?access_token=[REDACTED]&state=x")
    );
    assert_eq!(rec.columns.status, Some(200));
    assert!(rec.raw.ends_with(b"protocol=https\n"));
    assert!(rec
        .raw
        .starts_with(b"<158>1 2026-11-21T10:00:00.000000+00:00 host heroku router - at=info"));
}

#[test]
fn clean_lines_are_left_borrowed_and_untouched() {
    let rules = Rules::default();
    let line = "<190>1 2026-11-21T10:00:00.000000+00:00 host app web.1 - Completed 200 OK in 12ms request_id=8d9e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a\n";
    let b = body(&[line]);
    let mut processed = process_body(&b, 1 << 20, 0);
    let before = format!("{:?}", processed.records);
    let applied = apply(&rules, &mut processed.records);
    assert!(applied.is_empty());
    assert_eq!(format!("{:?}", processed.records), before);
    assert!(matches!(processed.records[0].raw, Cow::Borrowed(_)));
}

#[test]
fn drop_and_sample_rules_remove_lines_and_count_them() {
    let cfg: RulesConfig = toml::from_str(
        r#"
        [[drop]]
        name = "health checks"
        kind = ["router"]
        path = "/health"
        status = "200"

        [[sample]]
        name = "debug chatter"
        level = "debug"
        keep_one_in = 10
        "#,
    )
    .expect("config");
    let rules = compile(&cfg).expect("compile");
    let health = "<158>1 2026-11-21T10:00:00.000000+00:00 host heroku router - at=info method=GET path=\"/health\" host=a request_id=r1 fwd=\"1.2.3.4\" dyno=web.1 connect=0ms service=1ms status=200 bytes=2 protocol=https\n";
    let debug = "<190>1 2026-11-21T10:00:00.000000+00:00 host app web.1 - DEBUG cache miss\n";
    let mut lines = vec![health; 5];
    lines.extend(vec![debug; 20]);
    let b = body(&lines);
    let mut processed = process_body(&b, 1 << 20, 0);
    let applied = apply(&rules, &mut processed.records);
    assert_eq!(applied.dropped, vec![("health checks".to_owned(), 5)]);
    assert_eq!(applied.sampled_out, vec![("debug chatter".to_owned(), 18)]);
    assert_eq!(processed.records.len(), 2);
    let events: Vec<_> = applied.events().collect();
    assert!(events.contains(&("health checks", "dropped", 5)));
}
