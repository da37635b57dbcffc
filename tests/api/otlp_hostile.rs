//! OTLP/HTTP against hostile and broken input: every answer is a clear status with a
//! `google.rpc.Status` body in the request's encoding, never a crash or a stuck connection,
//! and the server stays ready. Also: the bounded queue's 503 + Retry-After.

use crate::helpers::{basic, TestApp};
use crate::otlp::DRAIN;
use logdrain::otlp::response::Status;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as V, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message as _;
use serde_json::Value;
use sqlx::Connection as _;
use std::io::Write as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

fn export(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

fn text_record(body: String) -> LogRecord {
    LogRecord {
        body: Some(AnyValue {
            value: Some(V::StringValue(body)),
        }),
        ..LogRecord::default()
    }
}

async fn post(
    app: &TestApp,
    content_type: &str,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/v1/logs"))
        .header("Authorization", basic("shop", DRAIN))
        .header("Content-Type", content_type)
        .body(body);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.expect("post")
}

/// The google.rpc.Status of an error answer, decoded as its Content-Type says.
async fn status_of(res: reqwest::Response) -> (u16, Status) {
    let code = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = res.bytes().await.expect("body");
    let status = if ct == PROTOBUF {
        Status::decode(&bytes[..]).expect("protobuf google.rpc.Status")
    } else {
        assert_eq!(ct, JSON);
        let v: Value = serde_json::from_slice(&bytes).expect("JSON google.rpc.Status");
        Status {
            code: v["code"].as_i64().expect("code") as i32,
            message: v["message"].as_str().expect("message").to_owned(),
        }
    };
    (code, status)
}

#[tokio::test]
async fn broken_and_hostile_exports_get_clear_answers_and_the_server_stays_ready() {
    let app = TestApp::spawn_with(&["--max-body", "4MiB", "--body-timeout", "1s"]).await;
    app.app_with_token("shop", DRAIN).await;
    let good = export(vec![text_record("fine".into())]).encode_to_vec();

    // No credential: 401, Status UNAUTHENTICATED, both challenges.
    let res = app
        .client
        .post(app.url("/v1/logs"))
        .header("Content-Type", PROTOBUF)
        .body(good.clone())
        .send()
        .await
        .expect("post");
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap_or("")
        .contains("Bearer"));
    let (code, status) = status_of(res).await;
    assert_eq!((code, status.code), (401, 16));

    // Wrong content type: 415 with a JSON Status naming what to send.
    let (code, status) = status_of(post(&app, "text/plain", good.clone(), &[]).await).await;
    assert_eq!((code, status.code), (415, 3));
    assert!(status.message.contains("application/x-protobuf"));
    let (code, _) =
        status_of(post(&app, "application/logplex-1", b"3 abc".to_vec(), &[]).await).await;
    assert_eq!(code, 415);

    // Truncated protobuf: 400, Status in protobuf.
    let (code, status) =
        status_of(post(&app, PROTOBUF, good[..good.len() - 2].to_vec(), &[]).await).await;
    assert_eq!((code, status.code), (400, 3));
    // Not JSON, and JSON nested 100,000 deep: 400, Status in JSON.
    let (code, _) = status_of(post(&app, JSON, b"{\"resourceLogs\":".to_vec(), &[]).await).await;
    assert_eq!(code, 400);
    let deep = format!(
        "{{\"resourceLogs\":[{{\"scopeLogs\":[{{\"logRecords\":[{{\"body\":{}",
        "{\"arrayValue\":{\"values\":[".repeat(100_000)
    );
    let (code, status) = status_of(post(&app, JSON, deep.into_bytes(), &[]).await).await;
    assert_eq!((code, status.code), (400, 3));
    // Nesting in protobuf too (1,000 deep; the decoder stops at 100).
    let mut value = AnyValue::default();
    for _ in 0..1_000 {
        value = AnyValue {
            value: Some(V::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![value],
                },
            )),
        };
    }
    let mut nested = text_record(String::new());
    nested.body = Some(value);
    let (code, _) =
        status_of(post(&app, PROTOBUF, export(vec![nested]).encode_to_vec(), &[]).await).await;
    assert_eq!(code, 400);

    // A million attributes: past the body limit, 413 before decoding.
    let mut many = text_record("many".into());
    many.attributes = (0..1_000_000)
        .map(|i| KeyValue {
            key: format!("attribute.{i}"),
            value: Some(AnyValue {
                value: Some(V::IntValue(i)),
            }),
            ..KeyValue::default()
        })
        .collect();
    let (code, status) =
        status_of(post(&app, PROTOBUF, export(vec![many]).encode_to_vec(), &[]).await).await;
    assert_eq!((code, status.code), (413, 8));
    // 300,000 empty attributes within the limit: stored, with the first 128 as tags.
    let mut within = text_record("within".into());
    within.attributes = vec![KeyValue::default(); 300_000];
    let res = post(&app, PROTOBUF, export(vec![within]).encode_to_vec(), &[]).await;
    assert_eq!(res.status(), 200);
    let left_out: i64 = sqlx::query_scalar(
        "SELECT (tags->>'logdrain.attributes_left_out')::int8 FROM lines WHERE message = 'within'",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("stored");
    assert!(left_out > 299_000);

    // A 3 MB string: stored whole.
    let huge = export(vec![text_record("x".repeat(3_000_000))]).encode_to_vec();
    assert_eq!(post(&app, PROTOBUF, huge, &[]).await.status(), 200);
    let longest: i32 = sqlx::query_scalar("SELECT max(length(message)) FROM lines")
        .fetch_one(app.store.pool())
        .await
        .expect("max");
    assert_eq!(longest, 3_000_000);

    // Gzip: not gzip is 400; a bomb is 413 after LOGDRAIN_MAX_BODY of inflation.
    let (code, _) = status_of(
        post(
            &app,
            PROTOBUF,
            b"not gzip".to_vec(),
            &[("Content-Encoding", "gzip")],
        )
        .await,
    )
    .await;
    assert_eq!(code, 400);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        enc.write_all(&zeros).expect("gzip");
    }
    let bomb = enc.finish().expect("gzip");
    let started = Instant::now();
    let (code, status) =
        status_of(post(&app, PROTOBUF, bomb, &[("Content-Encoding", "gzip")]).await).await;
    assert_eq!((code, status.code), (413, 8));
    assert!(started.elapsed() < Duration::from_secs(5));

    // A body that never finishes: 503 after LOGDRAIN_BODY_TIMEOUT, not a stuck connection.
    let mut tcp = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/logs HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: {PROTOBUF}\r\nContent-Length: 1000\r\n\r\nabc",
        basic("shop", DRAIN)
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 503"));

    // Still ready, and a good export still goes in.
    assert_eq!(app.readyz_status().await, 200);
    let res = post(&app, PROTOBUF, good, &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], PROTOBUF);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn a_stalled_database_is_a_503_with_retry_after_and_nothing_is_lost() {
    let app = TestApp::spawn_with(&["--ack-timeout", "1s", "--retry-after", "3s"]).await;
    app.app_with_token("shop", DRAIN).await;
    let body = export(vec![text_record("waits".into())]).encode_to_vec();
    let mut locker = sqlx::PgConnection::connect(&app.db_url)
        .await
        .expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut locker)
        .await
        .expect("begin");
    sqlx::query("LOCK TABLE lines IN EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .expect("lock");
    let res = post(
        &app,
        JSON,
        serde_json::to_vec(&export(vec![text_record("waits".into())])).expect("json"),
        &[],
    )
    .await;
    assert_eq!(res.headers()["retry-after"], "3");
    let (code, status) = status_of(res).await;
    assert_eq!((code, status.code), (503, 14));
    sqlx::query("COMMIT")
        .execute(&mut locker)
        .await
        .expect("unlock");

    // The client retries; the line is there exactly once however the first attempt ended.
    let mut stored = false;
    for _ in 0..40 {
        if post(&app, PROTOBUF, body.clone(), &[]).await.status() == 200 {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(stored);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM lines WHERE message = 'waits'")
        .fetch_one(app.store.pool())
        .await
        .expect("count");
    assert!(
        (1..=2).contains(&n),
        "the JSON attempt may have committed late, once"
    );
    app.stop().await.expect("stop");
}
