use super::*;

const NOW: i64 = 1_793_527_200_000_000; // 2026-11-01T10:00:00Z

fn parse(q: &str) -> Result<LogQuery, ParamError> {
    parse_log_query(q, None, DEFAULT_LINES, NOW)
}

#[test]
fn every_filter_is_read() {
    let q = parse("n=20&source=app&dyno=web.1&type=web&kind=router,app&level=warn&q=checkout+%22payment+failed%22&request_id=abc&status=5xx&code=h12&path=/api&since=2026-11-01T09:00:00Z&until=15m&format=ndjson").unwrap();
    assert_eq!(q.n, 20);
    assert_eq!(q.source.as_deref(), Some("app"));
    assert_eq!(q.dyno.as_deref(), Some("web.1"));
    assert_eq!(q.process_type.as_deref(), Some("web"));
    assert_eq!(q.kinds, vec![Kind::Router, Kind::App]);
    assert_eq!(q.level, Some(Level::Warning));
    assert_eq!(
        q.terms,
        vec!["checkout".to_owned(), "payment failed".to_owned()]
    );
    assert_eq!(q.status, Some(StatusRange { from: 500, to: 599 }));
    assert_eq!(q.code.as_deref(), Some("H12"));
    assert_eq!(q.since_us, Some(NOW - 3_600_000_000));
    assert_eq!(q.until_us, Some(NOW - 900_000_000));
    assert_eq!(q.format, Some(Format::Ndjson));
}

#[test]
fn defaults_caps_and_accept() {
    let q = parse("").unwrap();
    assert_eq!((q.n, q.format), (DEFAULT_LINES, None));
    assert_eq!(parse("n=1000000").unwrap().n, MAX_LINES);
    assert_eq!(parse("n=0").unwrap().n, 0);
    let q = parse_log_query("", Some("application/json"), 10, NOW).unwrap();
    assert_eq!(q.format, Some(Format::Json));
    let q = parse_log_query("", Some("text/event-stream"), 10, NOW).unwrap();
    assert_eq!(q.format, Some(Format::Sse));
}

#[test]
fn errors_name_the_parameter() {
    for (query, param) in [
        ("n=ten", "n"),
        ("n=-1", "n"),
        ("kind=routr", "kind"),
        ("level=loud", "level"),
        ("status=5x", "status"),
        ("status=500-400", "status"),
        ("code=X12", "code"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("cursor=zzz", "cursor"),
        ("format=xml", "format"),
        ("dyno=", "dyno"),
    ] {
        assert_eq!(parse(query).unwrap_err().param, param, "{query}");
    }
    assert_eq!(
        parse("since=yesterday").unwrap_err().to_string(),
        "since: not a time or duration"
    );
}

#[test]
fn status_forms_and_cursors() {
    assert_eq!(
        parse_status("503").unwrap(),
        StatusRange { from: 503, to: 503 }
    );
    assert_eq!(
        parse_status("400-499").unwrap(),
        StatusRange { from: 400, to: 499 }
    );
    let c = Cursor { ts_us: NOW, id: 42 };
    assert_eq!(Cursor::decode(&c.encode()), Some(c));
    assert_eq!(terms("  a  \"b c\" d"), vec!["a", "b c", "d"]);
    assert_eq!(terms("\"open phrase"), vec!["open phrase"]);
}
