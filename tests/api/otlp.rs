//! OTLP/HTTP logs end to end: the OpenTelemetry Rust SDK's own OTLP/HTTP log exporter
//! (reqwest client) sends protobuf and JSON, plain and gzip, to the real server; the lines are
//! read back through the query API.

use crate::helpers::{basic, TestApp};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry::{KeyValue, SpanId, TraceId};
use opentelemetry_otlp::{Compression, LogExporter, Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{
    LogBatch, LogExporter as _, LogProcessor, SdkLogRecord, SdkLoggerProvider,
};
use opentelemetry_sdk::Resource;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const DRAIN: &str = "otlp-drain-token-0123456789";
pub const API: &str = "api-token-0123456789abcdef";
const TRACE: &str = "5b8efff798038103d269b633813fc60c";
const SPAN: &str = "eee19b7ec3c1b174";
const ROUTER: &str = r#"at=info method=GET path="/orders/42" host=shop.example.com request_id=8601b555-6a83-4c12-8d16-4f5a4b5c1a11 fwd="203.0.113.9" dyno=web.1 connect=0ms service=14ms status=200 bytes=512 protocol=https"#;

/// Keeps what the SDK's loggers emit, so that one export carries them all.
#[derive(Debug, Default, Clone)]
pub struct Collect(Arc<Mutex<Vec<(SdkLogRecord, InstrumentationScope)>>>);

impl LogProcessor for Collect {
    fn emit(&self, data: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if let Ok(mut v) = self.0.lock() {
            v.push((data.clone(), scope.clone()));
        }
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Records as the SDK builds them for `service` (the resource's `service.name`).
pub struct Records {
    provider: SdkLoggerProvider,
    resource: Resource,
    collected: Collect,
}

impl Records {
    pub fn new(service: &str) -> Records {
        let collected = Collect::default();
        let resource = Resource::builder_empty()
            .with_service_name(service.to_owned())
            .with_attributes([KeyValue::new("service.instance.id", "dyno-7f3a")])
            .build();
        let provider = SdkLoggerProvider::builder()
            .with_resource(resource.clone())
            .with_log_processor(collected.clone())
            .build();
        Records {
            provider,
            resource,
            collected,
        }
    }

    /// Emits one record through the SDK's logger.
    pub fn emit(
        &self,
        body: impl Into<AnyValue>,
        severity: Option<Severity>,
        attrs: &[(&'static str, &'static str)],
        trace: bool,
    ) {
        let logger = self.provider.logger("logdrain-tests");
        let mut rec = logger.create_log_record();
        rec.set_body(body.into());
        rec.set_timestamp(std::time::SystemTime::now());
        if let Some(s) = severity {
            rec.set_severity_number(s);
        }
        for (k, v) in attrs {
            rec.add_attribute(*k, *v);
        }
        if trace {
            rec.set_trace_context(
                TraceId::from_hex(TRACE).expect("trace id"),
                SpanId::from_hex(SPAN).expect("span id"),
                None,
            );
        }
        logger.emit(rec);
    }

    /// Sends everything emitted so far as one export request.
    pub async fn export(&self, exporter: &mut LogExporter) -> OTelSdkResult {
        // What the SDK's own processors do before their first export.
        exporter.set_resource(&self.resource);
        let owned = self.collected.0.lock().expect("lock").clone();
        let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            owned.iter().map(|(r, s)| (r, s)).collect();
        exporter.export(LogBatch::new(&refs)).await
    }
}

/// The SDK's OTLP/HTTP log exporter aimed at `path` of the test server.
pub fn exporter(
    app: &TestApp,
    path: &str,
    protocol: Protocol,
    gzip: bool,
    authorization: &str,
) -> LogExporter {
    let mut builder = LogExporter::builder()
        .with_http()
        .with_endpoint(app.url(path))
        .with_protocol(protocol)
        .with_headers(HashMap::from([(
            "Authorization".to_owned(),
            authorization.to_owned(),
        )]));
    if gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    builder.build().expect("exporter")
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    serde_json::from_str(&app.get_ok(path, API).await).expect("json")
}

#[tokio::test]
async fn the_sdk_exporter_sends_protobuf_and_json_plain_and_gzip_and_every_line_reads_back() {
    let app = TestApp::spawn_with(&["--api-token", API]).await;
    app.app_with_token("shop", DRAIN).await;
    let cases = [
        (
            Protocol::HttpBinary,
            false,
            "/v1/logs",
            basic("shop", DRAIN),
        ),
        (
            Protocol::HttpBinary,
            true,
            "/otlp/v1/logs",
            format!("Bearer {DRAIN}"),
        ),
        (Protocol::HttpJson, false, "/otlp", basic("shop", DRAIN)),
        (
            Protocol::HttpJson,
            true,
            "/v1/logs",
            format!("Bearer {DRAIN}"),
        ),
    ];
    for (i, (protocol, gzip, path, auth)) in cases.iter().enumerate() {
        let records = Records::new("shop");
        records.emit(ROUTER, Some(Severity::Info), &[], false);
        records.emit(
            format!("case {i}: payment failed"),
            Some(Severity::Error),
            &[("heroku.dyno", "web.1"), ("order.id", "42")],
            true,
        );
        records.emit(
            AnyValue::Map(Box::new(HashMap::from([
                ("msg".into(), AnyValue::from("structured")),
                ("request_id".into(), AnyValue::from("req-77")),
            ]))),
            None,
            &[("dyno", "worker.1")],
            false,
        );
        let mut exporter = exporter(&app, path, *protocol, *gzip, auth);
        records
            .export(&mut exporter)
            .await
            .unwrap_or_else(|e| panic!("case {i} ({protocol:?}, gzip {gzip}): {e}"));
    }
    assert_eq!(app.line_count().await, 12);

    let page = get_json(&app, "/api/apps/shop/logs?format=json&n=100").await;
    let lines = page["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 12);

    // The router body: classified exactly as from Logplex.
    let routers: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "router").collect();
    assert_eq!(routers.len(), 4);
    for r in &routers {
        assert_eq!(r["source"], "heroku");
        assert_eq!(r["dyno"], "router");
        assert_eq!(r["fields"]["status"], 200);
        assert_eq!(r["fields"]["service_ms"], 14);
        assert_eq!(r["fields"]["path"], "/orders/42");
        assert_eq!(r["tags"]["service.name"], "shop");
        assert_eq!(r["tags"]["service.instance.id"], "dyno-7f3a");
    }

    // The error with its trace: level from severityNumber, trace and span ids, attributes.
    let traced = get_json(
        &app,
        &format!(
            "/api/apps/shop/logs?format=json&trace_id={}",
            TRACE.to_uppercase()
        ),
    )
    .await;
    let traced = traced["lines"].as_array().expect("lines");
    assert_eq!(traced.len(), 4);
    for t in traced {
        assert_eq!(t["level"], "error");
        assert_eq!(t["kind"], "app");
        assert_eq!(t["dyno"], "web.1");
        assert_eq!(t["trace_id"], TRACE);
        assert_eq!(t["span_id"], SPAN);
        assert_eq!(t["tags"]["order.id"], "42");
        assert!(t["message"]
            .as_str()
            .unwrap_or("")
            .ends_with("payment failed"));
    }

    // The structured body: its JSON is the message, its keys the fields.
    let structured: Vec<&Value> = lines.iter().filter(|l| l["dyno"] == "worker.1").collect();
    assert_eq!(structured.len(), 4);
    for s in structured {
        assert_eq!(s["fields"]["msg"], "structured");
        assert_eq!(s["fields"]["request_id"], "req-77");
        assert_eq!(s["level"], "info");
    }

    // /requests/{id} finds a trace's lines by the trace id.
    let by_trace = get_json(
        &app,
        &format!("/api/apps/shop/requests/{TRACE}?format=json"),
    )
    .await;
    assert_eq!(by_trace["lines"].as_array().map(Vec::len), Some(4));
    // … and still the router line by its request id.
    let by_request = get_json(
        &app,
        "/api/apps/shop/requests/8601b555-6a83-4c12-8d16-4f5a4b5c1a11?format=json",
    )
    .await;
    assert_eq!(by_request["lines"].as_array().map(Vec::len), Some(4));

    // Text output reads like heroku logs.
    let text = app
        .client
        .get(app.url(&format!("/api/apps/shop/logs?trace_id={TRACE}&n=1")))
        .bearer_auth(API)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains(" app[web.1]: case 3: payment failed"),
        "{text}"
    );
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn an_export_retried_whole_is_stored_once() {
    let app = TestApp::spawn_with(&["--api-token", API]).await;
    app.app_with_token("shop", DRAIN).await;
    let records = Records::new("shop");
    for i in 0..5 {
        records.emit(format!("line {i}"), Some(Severity::Info), &[], false);
    }
    for protocol in [Protocol::HttpBinary, Protocol::HttpJson] {
        let mut exporter = exporter(&app, "/v1/logs", protocol, true, &basic("shop", DRAIN));
        records.export(&mut exporter).await.expect("first");
        records.export(&mut exporter).await.expect("retry");
    }
    // One protobuf and one JSON copy: different requests, each stored once.
    assert_eq!(app.line_count().await, 10);
    let loss = get_json(&app, "/api/apps/shop/loss").await;
    assert_eq!(loss["duplicate_frames"], 2);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn a_trace_is_found_by_its_id_in_the_compact_tier_as_in_the_rows() {
    use logdrain::store::partitions::Policy;
    let app = TestApp::spawn_with(&["--api-token", API]).await;
    app.app_with_token("shop", DRAIN).await;
    let records = Records::new("shop");
    records.emit(ROUTER, Some(Severity::Info), &[], false);
    records.emit("charge declined", Some(Severity::Error), &[], true);
    records.emit("retrying the charge", Some(Severity::Warn), &[], true);
    let mut exporter = exporter(
        &app,
        "/v1/logs",
        Protocol::HttpBinary,
        false,
        &basic("shop", DRAIN),
    );
    records.export(&mut exporter).await.expect("export");
    let reads = [
        format!("/api/apps/shop/requests/{TRACE}"),
        format!("/api/apps/shop/requests/{}", TRACE.to_ascii_uppercase()),
        format!("/api/apps/shop/logs?trace_id={TRACE}&format=json"),
        "/api/apps/shop/requests/8601b555-6a83-4c12-8d16-4f5a4b5c1a11".to_owned(),
    ];
    let mut before = Vec::new();
    for r in &reads {
        before.push(app.get_ok(r, API).await);
    }
    assert_eq!(before[0].lines().count(), 2, "{}", before[0]);
    assert_eq!(before[3].lines().count(), 1, "{}", before[3]);

    // Today's partition compacted, as maintenance does two days later.
    let compact = Policy {
        compact_after: Some(std::time::Duration::from_secs(3600)),
        search_index: false,
        ..Policy::default()
    };
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    let report = crate::helpers::maintain(&app.store, &compact, later).await;
    assert!(!report.compacted.is_empty(), "{report:?}");
    let (hot, chunks, covered): (i64, i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM lines), (SELECT count(*) FROM line_chunks), \
                (SELECT bool_and(ids_cover_traces) FROM line_chunks)",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("tiers");
    assert_eq!((hot, chunks, covered), (0, 1, true));
    for (r, want) in reads.iter().zip(&before) {
        assert_eq!(&app.get_ok(r, API).await, want, "{r} after compaction");
    }
    // psql reads the trace ids of both tiers too.
    let (between, all, with_fields): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM lines_between('shop', now() - interval '1 day', \
                   now() + interval '1 day') WHERE trace_id = $1), \
                (SELECT count(*) FROM all_lines WHERE trace_id = $1), \
                (SELECT count(*) FROM lines_with_fields WHERE trace_id = $1)",
    )
    .bind(TRACE)
    .fetch_one(app.store.pool())
    .await
    .expect("psql reads");
    assert_eq!((between, all, with_fields), (2, 2, 2));
    // A trace that is not there is not found.
    let other = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        app.get_ok(&format!("/api/apps/shop/requests/{other}"), API)
            .await,
        ""
    );
    // The partition's id filter: 256 blocks for the app, and the lookups read through it.
    let blocks: i64 = sqlx::query_scalar("SELECT count(*) FROM id_blocks")
        .fetch_one(app.store.pool())
        .await
        .expect("blocks");
    assert_eq!(blocks, 256);
    // A partition compacted before id filter blocks existed is read whole, and answers the same.
    sqlx::query("DELETE FROM id_blocks")
        .execute(app.store.pool())
        .await
        .expect("legacy partition");
    for (r, want) in reads.iter().zip(&before) {
        assert_eq!(&app.get_ok(r, API).await, want, "{r} without id blocks");
    }
    // Maintenance builds the blocks of such a partition from its chunks.
    crate::helpers::maintain(&app.store, &compact, later).await;
    let blocks: i64 = sqlx::query_scalar("SELECT count(*) FROM id_blocks")
        .fetch_one(app.store.pool())
        .await
        .expect("blocks");
    assert_eq!(blocks, 256, "rebuilt");
    for (r, want) in reads.iter().zip(&before) {
        assert_eq!(
            &app.get_ok(r, API).await,
            want,
            "{r} with rebuilt id blocks"
        );
    }
    // A chunk compacted before trace ids went into its filter is read, and answers the same.
    sqlx::query("UPDATE line_chunks SET ids_cover_traces = false")
        .execute(app.store.pool())
        .await
        .expect("legacy chunk");
    for (r, want) in reads.iter().zip(&before) {
        assert_eq!(&app.get_ok(r, API).await, want, "{r} from a legacy chunk");
    }
    app.stop().await.expect("stop");
}
