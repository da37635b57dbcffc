//! Alerts end to end: rules created through the API (or the config file), lines POSTed as
//! Logplex sends them, rounds every second, and a real HTTP receiver counting what it is sent.
//! Windows are a few seconds, so each rule fires and then resolves on its own.

use crate::helpers::{basic, fresh_database_on_admin, TestApp};
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DRAIN: &str = "quick-start-drain-token";
const API: &str = "api-token-0123456789abcdef";
const APP: &str = "shop";
/// Alert flags of every server here: a round a second, quick retries.
const FLAGS: &[&str] = &[
    "--drain-token",
    DRAIN,
    "--api-token",
    API,
    "--alert-every",
    "1s",
    "--alert-backoff",
    "100ms",
    "--alert-timeout",
    "2s",
];

/// A webhook receiver: answers 500 to its first `fail_first` requests, 200 after, and keeps
/// the bodies it answered 200.
struct Receiver {
    addr: std::net::SocketAddr,
    state: Arc<ReceiverState>,
}

#[derive(Default)]
struct ReceiverState {
    fail_first: AtomicUsize,
    hits: AtomicUsize,
    accepted: Mutex<Vec<Value>>,
}

async fn receive(State(s): State<Arc<ReceiverState>>, body: axum::body::Bytes) -> StatusCode {
    let n = s.hits.fetch_add(1, Ordering::SeqCst);
    if n < s.fail_first.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.accepted.lock().unwrap().push(v);
    StatusCode::OK
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        state.fail_first.store(fail_first, Ordering::SeqCst);
        let router = axum::Router::new()
            .route("/{*path}", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { addr, state }
    }

    /// A URL whose path is a secret, as Slack's are.
    fn url(&self) -> String {
        format!("http://{}/hooks/T0SECRETPATH", self.addr)
    }

    fn accepted(&self) -> Vec<Value> {
        self.state.accepted.lock().unwrap().clone()
    }

    fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Waits until `n` bodies were accepted (or 20 s passed) and returns them.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let start = Instant::now();
        while self.accepted().len() < n && start.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.accepted()
    }
}

fn now_ts() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

fn router_line(path: &str, status: u16, service_ms: u32, code: Option<&str>) -> String {
    let (at, code) = match code {
        Some(c) => ("error", format!("code={c} desc=\"Request timeout\" ")),
        None => ("info", String::new()),
    };
    format!(
        "<158>1 {} host heroku router - at={at} {code}method=GET path=\"{path}\" \
         host=shop.herokuapp.com request_id=r1 fwd=\"203.0.113.7\" dyno=web.1 connect=1ms \
         service={service_ms}ms status={status} bytes=512 protocol=https\n",
        now_ts()
    )
}

fn worker_line() -> String {
    format!("<190>1 {} host app worker.1 - job done\n", now_ts())
}

/// POSTs lines as Logplex does; `msg_count` overrides the count header (a mismatch).
async fn post(app: &TestApp, lines: &[String], msg_count: Option<usize>) {
    let mut body = Vec::new();
    for l in lines {
        body.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
    }
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic(APP, DRAIN))
        .header("Content-Type", "application/logplex-1")
        .header(
            "Logplex-Msg-Count",
            msg_count.unwrap_or(lines.len()).to_string(),
        )
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204);
}

/// A server on a fresh database with the app created by its first line.
async fn server() -> TestApp {
    let app = TestApp::spawn_with(FLAGS).await;
    post(
        &app,
        &[format!("<190>1 {} host app web.1 - hello\n", now_ts())],
        None,
    )
    .await;
    app
}

async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(API);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, rule: Value) -> Value {
    let (status, body) = api(
        app,
        reqwest::Method::POST,
        "/api/apps/shop/alerts",
        Some(rule),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn status_code(app: &TestApp, name: &str) -> u16 {
    app.client
        .get(app.url(&format!("/api/apps/shop/alerts/{name}/status")))
        .bearer_auth(API)
        .send()
        .await
        .expect("status")
        .status()
        .as_u16()
}

fn states(bodies: &[Value]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| b["state"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// Fires, resolves, and sends nothing more for a couple of rounds.
async fn fires_then_resolves_once(receiver: &Receiver) -> Vec<Value> {
    let got = receiver.wait_for(2).await;
    assert_eq!(states(&got), ["firing", "resolved"], "{got:?}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = receiver.accepted();
    assert_eq!(after.len(), 2, "one notification per transition: {after:?}");
    after
}

#[tokio::test]
async fn a_count_rule_fires_and_resolves_with_one_notification_each() {
    let app = server().await;
    let receiver = Receiver::start(0).await;
    create(
        &app,
        json!({"name": "h12", "kind": "count", "filter": "code=H12", "threshold": 2,
               "window": "3s", "notify": [receiver.url()]}),
    )
    .await;
    assert_eq!(status_code(&app, "h12").await, 200);
    let h12 = router_line("/a", 503, 30000, Some("H12"));
    post(&app, &[h12.clone(), h12], None).await;
    let first = receiver.wait_for(1).await;
    assert_eq!(first[0]["alert"], "h12");
    assert_eq!(first[0]["app"], APP);
    assert_eq!(first[0]["state"], "firing");
    assert_eq!(first[0]["value"], 2.0);
    assert_eq!(first[0]["threshold"], 2.0);
    assert_eq!(first[0]["window"], "3s");
    assert!(first[0]["when"].as_str().is_some());
    let link = first[0]["link"].as_str().unwrap();
    assert!(
        link.starts_with("/api/apps/shop/logs?code=H12&since="),
        "{link}"
    );
    assert_eq!(status_code(&app, "h12").await, 503);
    // The link finds the lines that fired the rule.
    let lines = app
        .client
        .get(app.url(&format!("{link}&format=json")))
        .bearer_auth(API)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(lines["lines"].as_array().map(Vec::len), Some(2), "{lines}");
    fires_then_resolves_once(&receiver).await;
    assert_eq!(status_code(&app, "h12").await, 200);

    let (_, list) = api(&app, reqwest::Method::GET, "/api/apps/shop/alerts", None).await;
    let rule = &list["alerts"][0];
    assert_eq!(rule["state"], "resolved");
    let history: Vec<_> = rule["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}>{}",
                h["from"].as_str().unwrap(),
                h["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(history, ["firing>resolved", "ok>firing"]);
    let deliveries = rule["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d["status"] == "delivered"));
    // The webhook URL's secret path is never shown.
    assert!(!list.to_string().contains("T0SECRETPATH"), "{list}");
    assert_eq!(
        rule["notify"][0]["target"],
        format!("http://{}/…", receiver.addr)
    );
}

#[tokio::test]
async fn a_rate_rule_fires_on_the_share_of_5xx_and_resolves() {
    let app = server().await;
    let receiver = Receiver::start(0).await;
    create(
        &app,
        json!({"name": "5xx", "kind": "rate", "filter": "status=5xx", "threshold": 0.5,
               "min_volume": 3, "window": "5s", "notify": [{"url": receiver.url(), "format": "webhook"}]}),
    )
    .await;
    // Below the minimum volume: never fires, even at 100%.
    post(&app, &[router_line("/a", 503, 5, None)], None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.accepted().is_empty());
    post(
        &app,
        &[
            router_line("/a", 500, 5, None),
            router_line("/b", 200, 5, None),
        ],
        None,
    )
    .await;
    let got = fires_then_resolves_once(&receiver).await;
    let v = got[0]["value"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&v), "{v}");
}

#[tokio::test]
async fn a_latency_rule_fires_on_the_p95_of_its_path_and_resolves() {
    let app = server().await;
    let receiver = Receiver::start(0).await;
    create(
        &app,
        json!({"name": "slow-checkout", "kind": "latency", "filter": "path=/checkout",
               "threshold": 500, "window": "3s", "notify": [receiver.url()]}),
    )
    .await;
    // Slow lines on another path do not count.
    post(&app, &[router_line("/other", 200, 9000, None)], None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.accepted().is_empty());
    let slow = router_line("/checkout", 200, 900, None);
    post(
        &app,
        &[slow.clone(), slow, router_line("/checkout", 200, 800, None)],
        None,
    )
    .await;
    let got = fires_then_resolves_once(&receiver).await;
    let v = got[0]["value"].as_f64().unwrap();
    assert!((800.0..=900.0).contains(&v), "{v}");
    assert!(got[0]["link"].as_str().unwrap().contains("kind=router"));
}

#[tokio::test]
async fn an_absence_rule_fires_on_a_silent_worker_and_resolves_when_it_speaks() {
    let app = server().await;
    let receiver = Receiver::start(0).await;
    create(
        &app,
        json!({"name": "worker-silent", "kind": "absence", "filter": "dyno=worker.1",
               "window": "2s", "notify": [receiver.url()]}),
    )
    .await;
    let got = receiver.wait_for(1).await;
    assert_eq!(states(&got), ["firing"]);
    assert_eq!(got[0]["value"], 0.0);
    assert_eq!(status_code(&app, "worker-silent").await, 503);
    post(&app, &[worker_line()], None).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(states(&got[..2]), ["firing", "resolved"]);
}

#[tokio::test]
async fn a_loss_rule_fires_on_l10_drops_and_count_mismatches_and_resolves() {
    let app = server().await;
    let receiver = Receiver::start(0).await;
    create(
        &app,
        json!({"name": "drops", "kind": "loss", "threshold": 5, "window": "3s",
               "notify": [{"url": receiver.url(), "format": "alertmanager"}]}),
    )
    .await;
    let l10 = format!(
        "<172>1 {} host heroku logplex - Error L10 (output buffer overflow): \
         4 messages dropped since 2024-05-01T10:10:41+00:00.\n",
        now_ts()
    );
    // 4 dropped + a request whose Logplex-Msg-Count says 3 for 2 lines.
    post(&app, &[l10, worker_line()], Some(3)).await;
    let got = receiver.wait_for(2).await;
    let statuses: Vec<_> = got.iter().map(|b| b["status"].clone()).collect();
    assert_eq!(statuses, ["firing", "resolved"], "{got:?}");
    assert_eq!(got[0]["version"], "4");
    assert_eq!(got[0]["alerts"][0]["labels"]["alertname"], "drops");
    assert_eq!(got[0]["alerts"][0]["annotations"]["value"], "5");
}

mod delivery;
mod rules;
