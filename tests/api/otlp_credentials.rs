//! OTLP credentials: a space token routes each record by its resource's `service.name` (apps
//! created in the space on first use, foreign apps refused with `partial_success`), the
//! quick-start token works as `Basic` and as `Bearer`, and a wrong token is a 401.

use crate::helpers::{basic, TestApp};
use crate::otlp::{exporter, Records, DRAIN};
use opentelemetry::logs::Severity;
use opentelemetry_otlp::Protocol;
use serde_json::{json, Value};

const SHARED: &str = "quick-start-token-0123456789";

/// An OTLP/JSON export written by hand, one record per (service.name, body).
fn json_export(records: &[(&str, &str)]) -> Vec<u8> {
    let resource_logs: Vec<Value> = records
        .iter()
        .map(|(service, body)| {
            json!({
                "resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": service}}]},
                "scopeLogs": [{"logRecords": [{
                    "timeUnixNano": "1793527200118264000",
                    "severityText": "WARN",
                    "body": {"stringValue": body}}]}]
            })
        })
        .collect();
    json!({"resourceLogs": resource_logs})
        .to_string()
        .into_bytes()
}

async fn post_json(app: &TestApp, auth: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/v1/logs"))
        .header("Authorization", auth)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post")
}

async fn lines_of(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM lines l JOIN apps a ON a.id = l.app_id WHERE a.name = $1",
    )
    .bind(name)
    .fetch_one(app.store.pool())
    .await
    .expect("count")
}

#[tokio::test]
async fn a_space_token_routes_by_service_name_and_refuses_apps_outside_the_space() {
    let app = TestApp::spawn().await;
    let space = logdrain::record::AppName::parse("eu-space").expect("name");
    let token = app.store.create_space(&space).await.expect("space");
    app.app_with_token("own-app", DRAIN).await;
    let bearer = format!("Bearer {token}");

    // The SDK exporter, two services in two requests: both apps created in the space.
    for service in ["alpha", "beta"] {
        let records = Records::new(service);
        records.emit(
            format!("hello from {service}"),
            Some(Severity::Info),
            &[],
            false,
        );
        let mut exporter = exporter(&app, "/otlp", Protocol::HttpBinary, false, &bearer);
        records.export(&mut exporter).await.expect("export");
    }
    assert_eq!(lines_of(&app, "alpha").await, 1);
    assert_eq!(lines_of(&app, "beta").await, 1);
    let in_space: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apps a JOIN spaces s ON s.id = a.space_id WHERE s.name = 'eu-space'",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("count");
    assert_eq!(in_space, 2);

    // One request, three services: an app outside the space and a bad name are refused; the
    // rest is stored, and the answer says how many were refused and why.
    let res = post_json(
        &app,
        &bearer,
        json_export(&[("alpha", "again"), ("own-app", "sneaky"), ("Bad Name", "x")]),
    )
    .await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["partialSuccess"]["rejectedLogRecords"], 2);
    assert!(answer["partialSuccess"]["errorMessage"].as_str().is_some());
    assert_eq!(lines_of(&app, "alpha").await, 2);
    assert_eq!(lines_of(&app, "own-app").await, 0);
    let level: i16 = sqlx::query_scalar("SELECT level FROM lines WHERE message = 'again'")
        .fetch_one(app.store.pool())
        .await
        .expect("level");
    assert_eq!(level, 4, "severityText WARN");

    // A wrong token, and the app's own drain token naming no app: 401 and 200.
    assert_eq!(
        post_json(
            &app,
            "Bearer nope-nope-nope",
            json_export(&[("alpha", "x")])
        )
        .await
        .status(),
        401
    );
    let res = post_json(
        &app,
        &format!("Bearer {DRAIN}"),
        json_export(&[("alpha", "to own-app")]),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.expect("json"), json!({}));
    assert_eq!(
        lines_of(&app, "own-app").await,
        1,
        "an app token writes to its app"
    );
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn the_quick_start_token_works_as_basic_and_as_bearer() {
    let app = TestApp::spawn_with(&["--drain-token", SHARED]).await;
    let res = post_json(
        &app,
        &basic("first-app", SHARED),
        json_export(&[("ignored", "one")]),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(lines_of(&app, "first-app").await, 1);
    let res = post_json(
        &app,
        &format!("Bearer {SHARED}"),
        json_export(&[("second-app", "two")]),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(lines_of(&app, "second-app").await, 1);
    app.stop().await.expect("stop");
}
