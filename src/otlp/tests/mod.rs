//! The OTLP decoder and mapping: JSON quirks, protobuf, classification as on the Logplex path,
//! levels, timestamps, attributes, routing by `service.name`, answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use super::map::{stated_level, MapSettings, ATTRIBUTES_LEFT_OUT_TAG};
use super::*;
use crate::pipeline::process_body;
use crate::record::{Kind, Level};
use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::logs::v1::{LogRecord as OtlpRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

const SETTINGS: MapSettings = MapSettings {
    max_attributes: 128,
};
const RECEIVED: i64 = 1_800_000_000_000_000;

fn s(v: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(V::StringValue(v.into())),
    })
}

fn kv(k: &str, v: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: v,
        ..KeyValue::default()
    }
}

fn request(resource: Vec<KeyValue>, records: Vec<OtlpRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

fn record(body: &str) -> OtlpRecord {
    OtlpRecord {
        time_unix_nano: 1_793_527_200_118_264_123,
        body: s(body),
        ..OtlpRecord::default()
    }
}

fn one(req: &ExportLogsServiceRequest) -> crate::record::LogRecord<'static> {
    let mapped = lines(req, Routing::OneApp, &[], SETTINGS, RECEIVED);
    assert_eq!(mapped.lines.len(), 1);
    records(&mapped.lines, RECEIVED)
        .pop()
        .map(|r| r.into_owned())
        .expect("one record")
}

#[test]
fn content_types_pick_the_encoding() {
    assert_eq!(
        Encoding::from_content_type("application/x-protobuf"),
        Some(Encoding::Protobuf)
    );
    assert_eq!(
        Encoding::from_content_type("Application/JSON; charset=utf-8"),
        Some(Encoding::Json)
    );
    assert_eq!(Encoding::from_content_type("application/logplex-1"), None);
    assert_eq!(Encoding::from_content_type(""), None);
}

#[test]
fn json_follows_the_otlp_rules() {
    // Hex ids, an integer enum, 64-bit integers as a string and as a number, unknown fields.
    let body = br#"{"resourceLogs":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"shop"}}]},"unknownField":1,
      "scopeLogs":[{"logRecords":[
        {"timeUnixNano":"1793527200118264000","severityNumber":17,"severityText":"ERROR",
         "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174",
         "body":{"stringValue":"boom"},"somethingNew":{"a":1},
         "attributes":[{"key":"n","value":{"intValue":"42"}},{"key":"m","value":{"intValue":7}}]},
        {"timeUnixNano":1793527200118265000,"body":{"kvlistValue":{"values":[
         {"key":"msg","value":{"stringValue":"hi"}}]}}}]}]}]}"#;
    let req = decode(body, Encoding::Json).expect("decodes");
    let mapped = lines(&req, Routing::ByServiceName, &[], SETTINGS, RECEIVED);
    assert_eq!(mapped.lines.len(), 2);
    assert_eq!(mapped.rejected, 0);
    let recs = records(&mapped.lines, RECEIVED);
    let t = recs[0].telemetry.as_deref().expect("telemetry");
    assert_eq!(
        t.trace_id.as_deref(),
        Some("5b8efff798038103d269b633813fc60c")
    );
    assert_eq!(t.span_id.as_deref(), Some("eee19b7ec3c1b174"));
    assert_eq!(recs[0].level, Level::Error);
    assert_eq!(recs[0].ts_us, 1_793_527_200_118_264);
    let tags: serde_json::Value = serde_json::from_str(t.tags.as_deref().unwrap()).unwrap();
    assert_eq!(tags["service.name"], "shop");
    assert_eq!(tags["n"], 42);
    assert_eq!(tags["m"], 7);
    assert_eq!(recs[1].ts_us, 1_793_527_200_118_265);
    assert_eq!(recs[1].message, r#"{"msg":"hi"}"#);
    assert_eq!(
        mapped.lines[0].app.as_ref().map(|a| a.as_str()),
        Some("shop")
    );
}

#[test]
fn protobuf_round_trips_and_garbage_is_a_decode_error() {
    let req = request(vec![], vec![record("hello")]);
    let bytes = prost::Message::encode_to_vec(&req);
    assert_eq!(decode(&bytes, Encoding::Protobuf).expect("decodes"), req);
    assert!(decode(&bytes[..bytes.len() - 3], Encoding::Protobuf).is_err());
    assert!(decode(b"{\"resourceLogs\": 5}", Encoding::Json).is_err());
    assert!(decode(b"\xff\xff\xff", Encoding::Protobuf).is_err());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut json = String::from(r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":"#);
    for _ in 0..10_000 {
        json.push_str(r#"{"arrayValue":{"values":["#);
    }
    assert!(decode(json.as_bytes(), Encoding::Json).is_err());
    let mut value = AnyValue::default();
    for _ in 0..500 {
        value = AnyValue {
            value: Some(V::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![value],
                },
            )),
        };
    }
    let mut rec = record("x");
    rec.body = Some(value);
    let bytes = prost::Message::encode_to_vec(&request(vec![], vec![rec]));
    assert!(decode(&bytes, Encoding::Protobuf).is_err());
}

#[test]
fn a_router_body_is_classified_exactly_as_on_the_logplex_path() {
    let text = r#"at=info method=GET path="/orders/42?x=1" host=shop.example.com request_id=5b8e-01 fwd="203.0.113.9" dyno=web.1 connect=0ms service=14ms status=200 bytes=512 protocol=https"#;
    let otlp = one(&request(
        vec![kv("service.name", s("shop"))],
        vec![record(text)],
    ));
    let framed = format!("<158>1 2026-11-01T10:00:00.118264+00:00 host heroku router - {text}\n");
    let body = format!("{} {framed}", framed.len());
    let logplex = process_body(body.as_bytes(), 1 << 20, RECEIVED)
        .records
        .remove(0);
    assert_eq!(otlp.kind, Kind::Router);
    assert_eq!(otlp.source, "heroku");
    assert_eq!(otlp.dyno, "router");
    assert_eq!(otlp.columns, logplex.columns);
    assert_eq!(otlp.fields, logplex.fields);
    assert_eq!(otlp.level, logplex.level);
    assert_eq!(otlp.message, logplex.message);
    assert_eq!(otlp.ts_us, logplex.ts_us);
}

#[test]
fn platform_bodies_find_their_family() {
    let dyno = vec![kv("heroku.dyno", s("web.1"))];
    let mut rec = record("State changed from starting to up");
    rec.attributes = dyno.clone();
    let r = one(&request(vec![], vec![rec]));
    assert_eq!(
        (r.kind, &*r.source, &*r.dyno),
        (Kind::System, "heroku", "web.1")
    );

    let r = one(&request(
        vec![],
        vec![record("Error R14 (Memory quota exceeded)")],
    ));
    assert_eq!(r.kind, Kind::System);
    assert_eq!(r.columns.code.as_deref(), Some("R14"));

    let r = one(&request(
        vec![],
        vec![record(
            "source=web.1 dyno=heroku.1.abc sample#memory_total=21.00MB sample#load_avg_1m=0.01",
        )],
    ));
    assert_eq!((r.kind, &*r.dyno), (Kind::RuntimeMetric, "web.1"));

    let r = one(&request(vec![], vec![record("source=DATABASE addon=postgresql-curly-12345 sample#current_transaction=1 sample#db_size=7MB")]));
    assert_eq!((r.kind, &*r.dyno), (Kind::Addon, "heroku-postgres"));

    let r = one(&request(
        vec![],
        vec![record("Release v42 created by user dev@example.com")],
    ));
    assert_eq!((r.kind, &*r.source, &*r.dyno), (Kind::Api, "app", "api"));

    // Attributes win over the body.
    let mut rec = record("at=info method=GET path=/ status=200");
    rec.attributes = vec![kv("heroku.source", s("app")), kv("dyno", s("worker.2"))];
    let r = one(&request(vec![], vec![rec]));
    assert_eq!(
        (r.kind, &*r.source, &*r.dyno),
        (Kind::App, "app", "worker.2")
    );
}

#[test]
fn app_output_keeps_its_json_fields_and_inferred_level_when_no_severity_is_stated() {
    let mut rec = record(r#"{"level":"warn","msg":"slow","request_id":"abc-1"}"#);
    rec.attributes = vec![kv("dyno", s("web.2"))];
    let r = one(&request(vec![], vec![rec]));
    assert_eq!((r.kind, &*r.dyno), (Kind::App, "web.2"));
    assert_eq!(r.level, Level::Warning);
    assert_eq!(r.columns.request_id.as_deref(), Some("abc-1"));

    // A stated severity wins over the inference.
    let mut rec = record("ERROR: it broke");
    rec.severity_number = 9;
    assert_eq!(one(&request(vec![], vec![rec])).level, Level::Info);
    // Text alone, when there is no number.
    let mut rec = record("it broke");
    rec.severity_text = "Fatal".into();
    assert_eq!(one(&request(vec![], vec![rec])).level, Level::Critical);
    // Neither: the classifier's inference.
    assert_eq!(
        one(&request(vec![], vec![record("ERROR: it broke")])).level,
        Level::Error
    );
}

#[test]
fn severities_map_onto_levels() {
    assert_eq!(stated_level(1, ""), Some(Level::Debug));
    assert_eq!(stated_level(8, ""), Some(Level::Debug));
    assert_eq!(stated_level(12, ""), Some(Level::Info));
    assert_eq!(stated_level(13, ""), Some(Level::Warning));
    assert_eq!(stated_level(20, ""), Some(Level::Error));
    assert_eq!(stated_level(24, ""), Some(Level::Critical));
    assert_eq!(stated_level(0, "WARN2"), Some(Level::Warning));
    assert_eq!(stated_level(0, "notice"), Some(Level::Notice));
    assert_eq!(stated_level(0, "whatever"), None);
    assert_eq!(stated_level(99, ""), None);
}

#[test]
fn timestamps_fall_back_to_observed_then_receive_time() {
    let mut rec = record("x");
    rec.time_unix_nano = 0;
    rec.observed_time_unix_nano = 1_793_527_200_000_001_999;
    assert_eq!(
        one(&request(vec![], vec![rec.clone()])).ts_us,
        1_793_527_200_000_001
    );
    rec.observed_time_unix_nano = 0;
    assert_eq!(one(&request(vec![], vec![rec])).ts_us, RECEIVED);
}

#[test]
fn attributes_become_tags_under_their_names_capped() {
    let mut rec = record("x");
    rec.attributes = vec![
        kv(
            "http.status",
            Some(AnyValue {
                value: Some(V::IntValue(500)),
            }),
        ),
        kv(
            "ok",
            Some(AnyValue {
                value: Some(V::BoolValue(false)),
            }),
        ),
        kv(
            "nested",
            Some(AnyValue {
                value: Some(V::KvlistValue(KeyValueList {
                    values: vec![kv("a", s("b"))],
                })),
            }),
        ),
        kv("service.instance.id", s("override")),
    ];
    rec.event_name = "checkout".into();
    let req = request(
        vec![
            kv("service.name", s("shop")),
            kv("service.instance.id", s("dyno-uuid")),
            kv("heroku.app.id", s("2daa")),
        ],
        vec![rec],
    );
    let mapped = lines(
        &req,
        Routing::OneApp,
        &[("env".into(), "prod".into())],
        SETTINGS,
        RECEIVED,
    );
    let tags: serde_json::Value =
        serde_json::from_str(mapped.lines[0].telemetry.tags.as_deref().unwrap()).unwrap();
    assert_eq!(tags["env"], "prod");
    assert_eq!(tags["service.name"], "shop");
    assert_eq!(tags["heroku.app.id"], "2daa");
    assert_eq!(tags["http.status"], 500);
    assert_eq!(tags["ok"], false);
    assert_eq!(tags["nested"]["a"], "b");
    assert_eq!(tags["event.name"], "checkout");
    // The record's attribute comes later, so it is the value jsonb keeps.
    assert_eq!(tags["service.instance.id"], "override");
    // No dyno attribute: service.instance.id names the dyno.
    assert_eq!(records(&mapped.lines, RECEIVED)[0].dyno, "dyno-uuid");

    let mut many = record("x");
    many.attributes = (0..1000).map(|i| kv(&format!("k{i}"), s("v"))).collect();
    let capped = lines(
        &request(vec![], vec![many]),
        Routing::OneApp,
        &[],
        MapSettings { max_attributes: 10 },
        RECEIVED,
    );
    let tags: serde_json::Value =
        serde_json::from_str(capped.lines[0].telemetry.tags.as_deref().unwrap()).unwrap();
    assert_eq!(tags.as_object().unwrap().len(), 11);
    assert_eq!(tags[ATTRIBUTES_LEFT_OUT_TAG], 990);
}

#[test]
fn records_without_an_app_name_are_refused_not_the_batch() {
    let mut req = request(
        vec![kv("service.name", s("shop"))],
        vec![record("a"), record("b")],
    );
    req.resource_logs.push(ResourceLogs {
        resource: Some(Resource {
            attributes: vec![kv("service.name", s("Not An App"))],
            ..Resource::default()
        }),
        scope_logs: vec![ScopeLogs {
            log_records: vec![record("c")],
            ..ScopeLogs::default()
        }],
        ..ResourceLogs::default()
    });
    req.resource_logs.push(ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: vec![record("d")],
            ..ScopeLogs::default()
        }],
        ..ResourceLogs::default()
    });
    let mapped = lines(&req, Routing::ByServiceName, &[], SETTINGS, RECEIVED);
    assert_eq!(mapped.lines.len(), 2);
    assert_eq!(mapped.rejected, 2);
    assert!(mapped.rejection.unwrap().contains("Not An App"));
    // With an app credential every record goes to that app.
    assert_eq!(
        lines(&req, Routing::OneApp, &[], SETTINGS, RECEIVED)
            .lines
            .len(),
        4
    );
}

#[test]
fn odd_bodies_and_ids_never_fail() {
    let rec = OtlpRecord {
        trace_id: vec![0; 16],
        span_id: vec![1, 2, 3],
        ..OtlpRecord::default()
    };
    let r = one(&request(vec![], vec![rec]));
    assert_eq!(r.message, "");
    let t = r.telemetry.unwrap();
    assert_eq!((t.trace_id, t.span_id), (None, None));

    let mut rec = record("multi\nline with \0 nul and \x1b[31mcolour\x1b[0m\n");
    rec.attributes = vec![kv("dyno", s("we b\n1"))];
    let r = one(&request(vec![], vec![rec]));
    assert_eq!(r.dyno, "we_b_1");
    assert!(r.message.starts_with("multi\nline with"));
    assert!(!r.message.contains('\0'));

    let mut rec = record("");
    rec.body = Some(AnyValue {
        value: Some(V::BytesValue(vec![0xff, 0xfe])),
    });
    assert_eq!(one(&request(vec![], vec![rec])).message, "//4=");
}

#[test]
fn answers_are_encoded_like_the_request() {
    assert_eq!(response::success(Encoding::Json, 0, None), b"{}");
    let json: serde_json::Value =
        serde_json::from_slice(&response::success(Encoding::Json, 3, Some("why"))).unwrap();
    assert_eq!(json["partialSuccess"]["rejectedLogRecords"], 3);
    assert_eq!(json["partialSuccess"]["errorMessage"], "why");
    let pb = response::success(Encoding::Protobuf, 3, Some("why"));
    let decoded: opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse =
        prost::Message::decode(&pb[..]).unwrap();
    assert_eq!(decoded.partial_success.unwrap().rejected_log_records, 3);
    assert!(response::success(Encoding::Protobuf, 0, None).is_empty());
    let status: response::Status =
        prost::Message::decode(&response::status(Encoding::Protobuf, 3, "bad")[..]).unwrap();
    assert_eq!((status.code, status.message.as_str()), (3, "bad"));
}

#[test]
fn secrets_in_attributes_are_redacted_like_messages() {
    let mut rec = record("connecting");
    rec.attributes = vec![
        kv("db.password", s("hunter2-very-secret")),
        kv(
            "http.url",
            s("https://api.example.com/cb?access_token=ya29.a0AfB_secret&x=1"),
        ),
    ];
    let mapped = lines(
        &request(vec![], vec![rec]),
        Routing::OneApp,
        &[],
        SETTINGS,
        RECEIVED,
    );
    let ctx = crate::pipeline::Context {
        app_id: 1,
        received_us: RECEIVED,
        tags: None,
        frame_id: None,
        max_frame: 1 << 20,
    };
    let prepared = crate::pipeline::run_otlp(&mapped.lines, &ctx, &crate::rules::Rules::default());
    let tags = prepared.records[0]
        .telemetry
        .as_ref()
        .unwrap()
        .tags
        .as_deref()
        .unwrap();
    assert!(!tags.contains("hunter2"), "{tags}");
    assert!(!tags.contains("ya29"), "{tags}");
    let tags: serde_json::Value = serde_json::from_str(tags).unwrap();
    assert!(tags["http.url"].as_str().unwrap().contains("x=1"));
    assert!(!prepared.rule_events.is_empty());
    assert!(!String::from_utf8_lossy(&prepared.rows).contains("hunter2"));
}

mod seeds;
