use super::*;

fn pairs<'a>(e: &'a Extract<'_>) -> Vec<(&'a str, &'a Value<'a>)> {
    match &e.fields {
        Fields::Pairs(p) => p.iter().map(|(k, v)| (&**k, v)).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn a_modern_line_fills_the_typed_columns() {
    let e = extract(
        r#"at=info method=GET path="/search?q=red+shoes" host=shop.example request_id=6762b34f-4e26-4a8e-a032-35a1e58e1b1c fwd="203.0.113.7" dyno=web.1 connect=0ms service=14ms status=200 bytes=5120 protocol=https"#,
    );
    assert_eq!(e.level, Some(Level::Info));
    let c = &e.columns;
    assert_eq!(c.method.as_deref(), Some("GET"));
    assert_eq!(c.path.as_deref(), Some("/search?q=red+shoes"));
    assert_eq!(c.host.as_deref(), Some("shop.example"));
    assert_eq!(c.router_dyno.as_deref(), Some("web.1"));
    assert_eq!((c.connect_ms, c.service_ms), (Some(0), Some(14)));
    assert_eq!((c.status, c.bytes), (Some(200), Some(5120)));
    assert_eq!(
        pairs(&e),
        vec![
            ("at", &Value::Str("info".into())),
            ("fwd", &Value::Str("203.0.113.7".into())),
            ("protocol", &Value::Str("https".into())),
        ]
    );
}

#[test]
fn error_lines_with_empty_values_and_sock_first() {
    let e = extract(
        r#"sock=client at=warning code=H27 desc="Client Request Interrupted" method=POST path="/submit/" host=x request_id=r fwd="1.2.3.4" dyno=web.2 connect=1ms service=2ms status=499 bytes= protocol=https"#,
    );
    assert_eq!(e.level, Some(Level::Warning));
    assert_eq!(e.columns.code.as_deref(), Some("H27"));
    assert_eq!(e.columns.bytes, None);
    assert_eq!(pairs(&e)[0], ("sock", &Value::Str("client".into())));

    let e = extract(
        r#"at=error code=H10 desc="App crashed" method=GET path="/" host=x request_id=r fwd="1.2.3.4" dyno= connect= service= status=503 bytes="#,
    );
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(e.columns.router_dyno, None);
    assert_eq!(e.columns.service_ms, None);
    assert_eq!(e.columns.status, Some(503));
}

#[test]
fn router_2_tls_is_a_boolean_and_bare_numbers_are_milliseconds() {
    let e = extract("at=error code=H25 desc=\"HTTP restriction: oversized cookie\" method=GET path=\"/\" host=x connect=0 service=0 status=502 bytes=0 protocol=http2.0 tls=true tls_version=tls1.3");
    assert_eq!(
        (e.columns.connect_ms, e.columns.service_ms),
        (Some(0), Some(0))
    );
    assert!(pairs(&e).contains(&("tls", &Value::Bool(true))));
    assert!(pairs(&e).contains(&("tls_version", &Value::Str("tls1.3".into()))));
}

#[test]
fn the_pre_2012_form_is_understood() {
    let e = extract(
        "Error H10 (App crashed) -> GET crasher.heroku.com/ dyno=none queue=0 wait=0ms service=0ms bytes=0",
    );
    assert_eq!(e.level, Some(Level::Error));
    let c = &e.columns;
    assert_eq!(c.code.as_deref(), Some("H10"));
    assert_eq!(c.method.as_deref(), Some("GET"));
    assert_eq!(c.host.as_deref(), Some("crasher.heroku.com"));
    assert_eq!(c.path.as_deref(), Some("/"));
    assert_eq!(c.router_dyno.as_deref(), Some("none"));
    assert_eq!((c.service_ms, c.bytes), (Some(0), Some(0)));
    assert!(pairs(&e).contains(&("desc", &Value::Str("App crashed".into()))));
    assert!(pairs(&e).contains(&("wait", &Value::Str("0ms".into()))));
}

#[test]
fn routes_drop_query_strings_and_ids() {
    assert_eq!(route("/items/42?ref=a"), "/items/:id");
    assert_eq!(route("/"), "/");
    assert_eq!(
        route("/u/0f3e8f6a-1b2c-4d5e-8f90-a1b2c3d4e5f6/edit"),
        "/u/:id/edit"
    );
    assert_eq!(
        route("/assets/application-62f13e9f.css"),
        "/assets/application-62f13e9f.css"
    );
    assert_eq!(route("/blob/62f13e9f7cb78a2b3e436feaedd07fd6"), "/blob/:id");
    assert_eq!(route("/v2/items"), "/v2/items");
    assert_eq!(
        route("/files/Annual Report 2023.pdf"),
        "/files/Annual Report 2023.pdf"
    );
}

/// The two-pass `route` the one-pass one replaced, kept as the reference it must agree with.
fn reference_route(path: &str) -> String {
    fn is_id(segment: &str) -> bool {
        let b = segment.as_bytes();
        !b.is_empty()
            && (b.iter().all(u8::is_ascii_digit)
                || crate::classify::app::is_uuid(segment)
                || (b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit)))
    }
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.split('/')
        .map(|segment| if is_id(segment) { ":id" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
    #[test]
    fn route_agrees_with_the_reference(
        segments in proptest::collection::vec(
            proptest::prop_oneof![
                "[0-9]{0,6}",
                "[0-9a-f]{14,20}",
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "[a-z?#=&é]{0,8}",
            ],
            0..6,
        )
    ) {
        let path = segments.join("/");
        proptest::prop_assert_eq!(route(&path).into_owned(), reference_route(&path), "{:?}", path);
    }

    #[test]
    fn numbers_agree_with_the_standard_parser(text in "[-+0-9a-z]{0,22}") {
        proptest::prop_assert_eq!(parse_int::<i16>(&text), text.parse::<i16>().ok());
        proptest::prop_assert_eq!(parse_int::<i32>(&text), text.parse::<i32>().ok());
        proptest::prop_assert_eq!(parse_int::<i64>(&text), text.parse::<i64>().ok());
    }
}
