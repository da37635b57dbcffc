use super::*;

fn get<'a>(e: &'a Extract<'_>, key: &str) -> Option<&'a Value<'a>> {
    e.field(key)
}

#[test]
fn json_objects_are_kept_whole_with_level_and_request_id() {
    let line = r#"{"level":50,"time":1714558327018,"reqId":"req-1f","msg":"boom"}"#;
    let e = extract(line);
    assert_eq!(e.fields, Fields::Json(Cow::Borrowed(line)));
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(e.columns.request_id.as_deref(), Some("req-1f"));
    let e = extract(r#"{"severity":"WARNING","request_id":"abc"}"#);
    assert_eq!(e.level, Some(Level::Warning));
    assert_eq!(e.columns.request_id.as_deref(), Some("abc"));
}

#[test]
fn json_that_jsonb_would_refuse_is_rewritten_or_rejected() {
    let e = extract(r#"{"a":"x\u0000y"}"#);
    assert_eq!(
        e.fields,
        Fields::Json(Cow::Owned("{\"a\":\"x\u{FFFD}y\"}".to_owned()))
    );
    // A lone surrogate is not valid text: no fields.
    assert_eq!(extract(r#"{"a":"\ud800"}"#).fields, Fields::None);
    // An exponent beyond any float: no fields.
    assert_eq!(extract(r#"{"a":1e999999}"#).fields, Fields::None);
    assert_eq!(extract(r#"{"a":1} trailing"#).fields, Fields::None);
    assert_eq!(extract("{not json}").fields, Fields::None);
}

#[test]
fn logfmt_pairs_are_strings_and_need_two_pairs() {
    let e = extract("at=info level=warn request_id=r-1 took=12ms");
    assert_eq!(get(&e, "took"), Some(&Value::Str("12ms".into())));
    assert_eq!(e.level, Some(Level::Warning));
    assert_eq!(e.columns.request_id.as_deref(), Some("r-1"));
    assert_eq!(extract("SELECT 1 WHERE a=1").fields, Fields::None);
}

#[test]
fn rails_tags_give_the_request_id() {
    let e = extract("I, [2024-05-01T10:12:00.476293 #3]  INFO -- : [46add18f-75b9-4dcf-9943-782082f3407e] Started GET \"/\"");
    assert_eq!(
        e.columns.request_id.as_deref(),
        Some("46add18f-75b9-4dcf-9943-782082f3407e")
    );
    assert_eq!(e.level, Some(Level::Info));
    assert_eq!(extract("[not-a-uuid] x").columns.request_id, None);
}

#[test]
fn levels_from_common_prefixes() {
    for (line, level) in [
        (
            "F, [2024-05-01T10:12:01.204400 #4] FATAL -- : boom",
            Some(Level::Critical),
        ),
        ("E, [2024] ERROR -- : x", Some(Level::Error)),
        (
            "ERROR:django.request:Internal Server Error: /",
            Some(Level::Error),
        ),
        ("[WARN] careful", Some(Level::Warning)),
        ("WARNING: deprecated", Some(Level::Warning)),
        (
            "2024-05-01T10:12:09.120Z  INFO 4 --- [demo] [main] c.e.Demo : Started",
            Some(Level::Info),
        ),
        (
            "2024-05-01T10:12:09.120Z ERROR 4 --- [demo] x",
            Some(Level::Error),
        ),
        (
            "[2024-05-01 10:12:00 +0000] [7] [INFO] Booting worker",
            Some(Level::Info),
        ),
        ("npm ERR! A complete log of this run", Some(Level::Error)),
        ("npm WARN config production", Some(Level::Warning)),
        ("Traceback (most recent call last):", Some(Level::Error)),
        ("KeyError: 'user_id'", Some(Level::Error)),
        (
            "java.lang.NullPointerException: Cannot invoke",
            Some(Level::Error),
        ),
        ("Started GET / for 1.2.3.4", None),
        ("the request error was handled", None),
    ] {
        assert_eq!(extract(line).level, level, "{line}");
    }
}

#[test]
fn an_r13_app_line_carries_its_code() {
    let e = extract("Error R13 (Attach error) -> Failed to attach to process");
    assert_eq!(e.columns.code.as_deref(), Some("R13"));
    assert_eq!(get(&e, "desc"), Some(&Value::Str("Attach error".into())));
    assert_eq!(e.level, Some(Level::Error));
}

/// The position-by-position check `is_uuid` was first written as.
fn reference_is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
    #[test]
    fn is_uuid_agrees_with_the_reference(text in "[0-9a-fA-FgG-]{30,40}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-fx]{4}-[0-9a-f-]{4}-[0-9a-f]{12}") {
        proptest::prop_assert_eq!(is_uuid(&text), reference_is_uuid(&text), "{:?}", text);
    }
}
