//! The classifier against the hand-reviewed expectations in `tests/golden/` (every sample frame
//! and every message of every sample POST), plus the properties that must hold for any input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use super::*;
use crate::logplex;
use crate::pipeline::process_body;
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::Value as Json;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read_jsonl(path: &str) -> Vec<Json> {
    std::fs::read_to_string(format!("{ROOT}/{path}"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// The record as the golden files describe a line.
fn describe(rec: &LogRecord<'_>) -> Json {
    let mut out = serde_json::json!({
        "kind": rec.kind.as_str(),
        "level": rec.level.as_str(),
        "fields": Json::Object(rec.api_fields()),
    });
    if rec.parts > 1 {
        out["parts"] = Json::from(rec.parts);
    }
    out
}

fn expectation(expected: &Json) -> Json {
    let mut out = serde_json::json!({
        "kind": expected["kind"],
        "level": expected["level"],
        "fields": expected["fields"],
    });
    if let Some(parts) = expected.get("parts") {
        out["parts"] = parts.clone();
    }
    out
}

#[test]
fn every_sample_frame_is_classified_as_reviewed() {
    let frames = read_jsonl("tests/fixtures/samples/frames.jsonl");
    let expected = read_jsonl("tests/golden/frames.expected.jsonl");
    assert_eq!(frames.len(), expected.len());
    let mut failures = Vec::new();
    for (frame, want) in frames.iter().zip(&expected) {
        assert_eq!(frame["id"], want["id"]);
        let raw = b64(frame["raw_b64"].as_str().unwrap());
        let msg = logplex::parse(&raw).unwrap();
        let got = describe(&classify(&msg, &raw, 0));
        if got != expectation(want) {
            failures.push(format!(
                "frame {}: {}\n   got  {got}\n   want {}",
                frame["id"],
                String::from_utf8_lossy(msg.msg),
                expectation(want)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_sample_post_is_classified_as_reviewed() {
    let manifest: Json = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/fixtures/samples/posts/manifest.json"))
            .unwrap(),
    )
    .unwrap();
    let expected = read_jsonl("tests/golden/posts.expected.jsonl");
    let mut failures = Vec::new();
    let mut checked = 0;
    for post in manifest.as_array().unwrap() {
        let name = post["name"].as_str().unwrap();
        let body = std::fs::read(format!(
            "{ROOT}/tests/fixtures/samples/posts/{}",
            post["body_file"].as_str().unwrap()
        ))
        .unwrap();
        let processed = process_body(&body, logplex::DEFAULT_MAX_FRAME_LEN, 0);
        let want: Vec<&Json> = expected.iter().filter(|e| e["post"] == name).collect();
        assert_eq!(
            processed.messages,
            post["expected_message_count"].as_u64().unwrap() as usize,
            "{name}"
        );
        assert_eq!(processed.fallbacks, 0, "{name}");
        assert_eq!(processed.records.len(), want.len(), "{name}: stored lines");
        for (i, (rec, want)) in processed.records.iter().zip(&want).enumerate() {
            checked += 1;
            let got = describe(rec);
            if got != expectation(want) {
                failures.push(format!(
                    "{name} line {i}: {}\n   got  {got}\n   want {}",
                    rec.message.chars().take(200).collect::<String>(),
                    expectation(want)
                ));
            }
        }
    }
    assert!(checked > 500, "only {checked} lines checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn kinds_follow_app_name_and_procid() {
    assert_eq!(kind_of("app", "web.1", "hi"), Kind::App);
    assert_eq!(kind_of("app", "api", "Release v1"), Kind::Api);
    assert_eq!(kind_of("heroku", "api", "Release v1"), Kind::Api);
    assert_eq!(kind_of("heroku", "web.1", "State changed"), Kind::System);
    assert_eq!(
        kind_of(
            "heroku",
            "web.1",
            "source=web.1 dyno=heroku.1.x sample#load_avg_1m=0.1"
        ),
        Kind::RuntimeMetric
    );
    assert_eq!(kind_of("app", "postgres.1127", "[DATABASE] x"), Kind::Addon);
    assert_eq!(kind_of("app", "heroku-redis", "source=REDIS"), Kind::Addon);
    assert_eq!(kind_of("heroku", "logplex", "Error L10"), Kind::System);
    assert_eq!(kind_of("app", "log-shuttle", "Error L12"), Kind::System);
}

#[test]
fn error_lines_split_into_code_desc_and_detail() {
    assert_eq!(
        error_code("Error R12 (Exit timeout) -> Process failed"),
        Some(ErrorCode {
            code: "R12",
            desc: Some("Exit timeout"),
            detail: Some("Process failed")
        })
    );
    assert_eq!(
        error_code("Error L12: 3 messages dropped"),
        Some(ErrorCode {
            code: "L12",
            desc: None,
            detail: None
        })
    );
    assert_eq!(error_code("Error H123 x"), None);
    assert_eq!(error_code("Error: boom"), None);
}

/// Arbitrary MSG bytes behind a realistic header from any family.
fn any_message() -> impl Strategy<Value = Vec<u8>> {
    let origin = prop::sample::select(vec![
        ("heroku", "router"),
        ("heroku", "web.1"),
        ("heroku", "logplex"),
        ("app", "api"),
        ("heroku", "api"),
        ("app", "web.2"),
        ("app", "heroku-postgres"),
        ("app", "postgres.1234"),
        ("app", "log-shuttle"),
    ]);
    let prefix = prop::sample::select(vec![
        "",
        "at=error ",
        "Error H12 (",
        "Error R14 (x) -> ",
        "Error L10 (output buffer overflow): ",
        "source=web.1 sample#",
        "{\"level\":",
        "State changed from ",
        "Process running mem=",
        "[DATABASE] [7-1]  sql_error_code = ",
        "Scaled to web@",
        "Set ",
        "I, [",
        "\u{1b}[",
    ]);
    (origin, prefix, prop::collection::vec(any::<u8>(), 0..300)).prop_map(
        |((app, procid), prefix, tail)| {
            let mut m =
                format!("<190>1 2024-05-01T10:00:00.000001+00:00 host {app} {procid} - {prefix}")
                    .into_bytes();
            m.extend_from_slice(&tail);
            m
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_message_gets_a_kind_a_level_and_storable_text(raw in any_message()) {
        let msg = logplex::parse(&raw).unwrap();
        let rec = classify(&msg, &raw, 0);
        prop_assert!(Kind::ALL.contains(&rec.kind));
        prop_assert!((2..=7).contains(&rec.level.severity()));
        prop_assert!(!rec.message.contains('\0'));
        prop_assert!(!rec.message.contains(char::from(0x1b_u8)));
        // The fields column is always valid JSON.
        let mut json = Vec::new();
        if crate::record::write_fields_json(&rec.fields, &mut json) {
            let v: Json = serde_json::from_slice(&json).unwrap();
            prop_assert!(v.is_object());
            prop_assert!(!String::from_utf8_lossy(&json).contains("\\u0000"));
        }
    }
}

/// The rule table `kind_of` was first written as, kept as the reference it must agree with.
fn reference_kind_of(source: &str, dyno: &str, message: &str) -> Kind {
    match (source, dyno) {
        ("heroku", "router") => Kind::Router,
        (_, "api") => Kind::Api,
        ("heroku", "logplex") | ("app", "log-shuttle") => Kind::System,
        ("app", "heroku-postgres" | "heroku-redis" | "heroku-pgbouncer") => Kind::Addon,
        ("app", d) if d.starts_with("postgres.") => Kind::Addon,
        ("heroku", _) if metrics::is_runtime_metrics(message) => Kind::RuntimeMetric,
        ("heroku", _) => Kind::System,
        _ => Kind::App,
    }
}

#[test]
fn kind_of_agrees_with_the_reference_table() {
    let sources = ["heroku", "app", "", "Heroku", "apps", "other"];
    let dynos = [
        "router",
        "api",
        "logplex",
        "log-shuttle",
        "heroku-postgres",
        "heroku-redis",
        "heroku-pgbouncer",
        "postgres.1234",
        "postgres.",
        "postgres",
        "web.1",
        "",
    ];
    let messages = [
        "source=web.1 dyno=heroku.1.abc sample#load_avg_1m=0.1",
        "source=web.1 no samples",
        "hello",
        "",
    ];
    for source in sources {
        for dyno in dynos {
            for message in messages {
                assert_eq!(
                    kind_of(source, dyno, message),
                    reference_kind_of(source, dyno, message),
                    "{source} {dyno} {message}"
                );
            }
        }
    }
}

/// A receive time no golden line carries, so a raw fallback is recognisable.
const RECEIVED_US: i64 = 42;

#[test]
fn a_last_frame_whose_count_overruns_the_body_is_read_as_reviewed() {
    let cases = read_jsonl("tests/golden/lenient_end.jsonl");
    assert!(cases.len() >= 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let body = case["body"].as_str().unwrap().as_bytes();
        let p = process_body(body, crate::logplex::DEFAULT_MAX_FRAME_LEN, RECEIVED_US);
        let want = case["lines"].as_array().unwrap();
        assert_eq!(p.records.len(), want.len(), "{name}");
        assert_eq!(
            p.length_mismatches as u64,
            case["frame_length_mismatches"].as_u64().unwrap(),
            "{name}"
        );
        for (rec, want) in p.records.iter().zip(want) {
            let ts = match want["ts"].as_str().unwrap() {
                "received" => RECEIVED_US,
                ts => chrono::DateTime::parse_from_rfc3339(ts)
                    .unwrap()
                    .timestamp_micros(),
            };
            assert_eq!(rec.ts_us, ts, "{name}");
            assert_eq!(rec.source, want["source"].as_str().unwrap(), "{name}");
            assert_eq!(rec.dyno, want["dyno"].as_str().unwrap(), "{name}");
            assert_eq!(rec.message, want["message"].as_str().unwrap(), "{name}");
            assert_eq!(describe(rec), expectation(want), "{name}");
        }
    }
}

/// Whether `key` appears in `doc` as a whole word (not inside a longer identifier).
fn names(doc: &str, key: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    doc.match_indices(key).any(|(at, _)| {
        !doc[..at].chars().next_back().is_some_and(ident)
            && !doc[at + key.len()..].chars().next().is_some_and(ident)
    })
}

#[test]
fn every_fixed_field_the_classifier_gives_is_in_the_documented_field_lists() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let openapi: Json = serde_json::from_str(include_str!("../query/openapi.json")).unwrap();
    let described = openapi["components"]["schemas"]["Line"]["properties"]["fields"]["description"]
        .as_str()
        .unwrap();
    // The families with a fixed set of keys (app and metrics lines give whatever they hold).
    let mut messages: Vec<Vec<u8>> = read_jsonl("tests/fixtures/samples/frames.jsonl")
        .iter()
        .map(|f| b64(f["raw_b64"].as_str().unwrap()))
        .collect();
    messages.push(b"<134>1 2026-11-01T10:00:02Z host app postgres.1 - [DATABASE] [7-2]  sql_error_code = 00000 LOG:  duration: 1.5 ms  statement: SELECT 1".to_vec());
    let mut checked = 0;
    let mut missing = std::collections::BTreeSet::new();
    for raw in &messages {
        let msg = logplex::parse(raw).unwrap();
        let rec = classify(&msg, raw, 0);
        let (row, section) = match rec.kind {
            Kind::Router => ("| `router` |", "router:"),
            Kind::Api => ("| `api` |", "api:"),
            Kind::System => ("| `system` |", "system:"),
            Kind::Addon if rec.dyno.starts_with("postgres.") => ("| `addon` |", "Postgres"),
            _ => continue,
        };
        let row = readme.lines().find(|l| l.starts_with(row)).unwrap();
        let at = described.find(section).unwrap();
        let part = &described[at..at + described[at..].find(". ").unwrap()];
        for key in rec.api_fields().keys() {
            if !names(row, key) || !names(part, key) {
                missing.insert(format!("{section} {key}"));
            }
            checked += 1;
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
    assert!(checked > 100, "{checked}");
}
