//! The query API end to end: the sample POSTs go in as Logplex sends them, then every endpoint
//! is read with curl-like requests and checked against values worked out from the posted
//! lines (the hand-reviewed `tests/golden/posts.expected.jsonl` says what each line is).

use crate::helpers::{basic, post_sample, sample_posts, TestApp};
use serde_json::Value;
use sqlx::Connection as _;
use std::collections::HashSet;
use std::time::Duration;

const DRAIN: &str = "s3cr3t-t0ken";
const API: &str = "api-token-0123456789abcdef";

async fn spawn() -> TestApp {
    TestApp::spawn_with(&["--api-token", API]).await
}

/// Posts every sample post for app `heroku`.
async fn post_samples(app: &TestApp) {
    app.app_with_token("heroku", DRAIN).await;
    let auth = basic("heroku", DRAIN);
    for post in sample_posts() {
        assert_eq!(
            post_sample(app, &post, &auth).await.status(),
            204,
            "{}",
            post.name
        );
    }
}

/// Posts raw syslog messages (without length prefixes) as one Logplex body.
async fn post_messages(app: &TestApp, name: &str, token: &str, messages: &[String]) {
    let mut body = Vec::new();
    for m in messages {
        body.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic(name, token))
        .header("Content-Type", "application/logplex-1")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204);
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("get")
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = get(app, path, Some(API)).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.expect("json")
}

async fn get_text(app: &TestApp, path: &str) -> String {
    let res = get(app, path, Some(API)).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.expect("text")
}

/// The golden entries of every stored line (the retried post 10b is stored once, as 10a).
fn golden() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/posts.expected.jsonl"
    );
    std::fs::read_to_string(path)
        .expect("golden")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|g| g["post"] != "10b_retry_attempt2_same_frame_id")
        .collect()
}

fn count(golden: &[Value], pred: impl Fn(&Value) -> bool) -> usize {
    golden.iter().filter(|g| pred(g)).count()
}

const ALL: &str = "since=2000-01-01T00:00:00Z";

#[tokio::test]
async fn auth_failures_are_json_and_scoped() {
    let app = spawn().await;
    post_samples(&app).await;
    let other = app.app_with_token("other-app", DRAIN).await;
    let read = "read-token-for-heroku-0123456789";
    sqlx::query("UPDATE apps SET read_token_hash = $1 WHERE name = 'heroku'")
        .bind(logdrain::store::apps::hash_token(read))
        .execute(app.store.pool())
        .await
        .expect("read token");
    assert!(other > 0);

    let res = get(&app, "/api/apps/heroku/logs", None).await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(
        get(&app, "/api/apps", Some("wrong-token-0123456789"))
            .await
            .status(),
        401
    );
    assert_eq!(
        get(&app, "/api/apps/other-app/logs", Some(read))
            .await
            .status(),
        403
    );
    assert_eq!(
        get(&app, "/api/apps/nope/logs", Some(API)).await.status(),
        404
    );
    assert_eq!(
        get(&app, "/api/apps/heroku/logs?n=1", Some(read))
            .await
            .status(),
        200
    );

    let res = get(&app, "/api/apps/heroku/logs?since=yesterday", Some(API)).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "bad_param");
    assert_eq!(body["error"]["message"], "since: not a time or duration");

    // The server token sees every app, a read token only its own.
    let all = get_json(&app, "/api/apps").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let res = get(&app, "/api/apps", Some(read)).await;
    let mine: Value = res.json().await.expect("json");
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    assert_eq!(mine[0]["name"], "heroku");
    assert_eq!(mine[0]["lines"], golden().len());
    assert_eq!(
        mine[0]["dropped"], 10,
        "3 (post 02) + 7 (post 10a) reported by L10"
    );
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn text_is_byte_for_byte_heroku_logs() {
    let app = spawn().await;
    post_samples(&app).await;
    let text = get_text(
        &app,
        "/api/apps/heroku/logs?kind=api&source=app&until=2024-05-01T10:09:00Z",
    )
    .await;
    assert_eq!(
        text,
        "2024-05-01T10:08:00.000000+00:00 app[api]: Build started by user dev@acme-shop.example\n\
         2024-05-01T10:08:39.310540+00:00 app[api]: Deploy b8949a05 by user dev@acme-shop.example\n\
         2024-05-01T10:08:39.310540+00:00 app[api]: Release v142 created by user dev@acme-shop.example\n\
         2024-05-01T10:08:39.333319+00:00 app[api]: Scaled to web@1:Basic by user dev@acme-shop.example\n\
         2024-05-01T10:08:41.000000+00:00 app[api]: Build succeeded\n\
         2024-05-01T10:08:50.000000+00:00 app[api]: Build failed -- check your build output: https://dashboard.heroku.com/apps/270149df-d54b-4785-9650-854a1da72e93/activity/builds/aac64e95-28c4-4ceb-b9cb-4af2a378bd26\n"
    );
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn every_filter_returns_exactly_the_matching_lines() {
    let app = spawn().await;
    post_samples(&app).await;
    let g = golden();
    let n = |path: &str| {
        let app = &app;
        let path = path.to_owned();
        async move {
            let v = get_json(
                app,
                &format!("/api/apps/heroku/logs?n=10000&format=json&{ALL}&{path}"),
            )
            .await;
            v["lines"].as_array().expect("lines").clone()
        }
    };
    let field = |g: &Value, k: &str| g["fields"][k].clone();

    assert_eq!(n("").await.len(), g.len());
    assert_eq!(
        n("kind=router").await.len(),
        count(&g, |x| x["kind"] == "router")
    );
    assert_eq!(
        n("kind=api,system").await.len(),
        count(&g, |x| x["kind"] == "api" || x["kind"] == "system")
    );
    assert_eq!(
        n("level=error").await.len(),
        count(&g, |x| matches!(
            x["level"].as_str(),
            Some("error" | "critical")
        ))
    );
    assert_eq!(
        n("status=5xx").await.len(),
        count(&g, |x| field(x, "status")
            .as_i64()
            .is_some_and(|s| (500..600).contains(&s)))
    );
    assert_eq!(
        n("status=499").await.len(),
        count(&g, |x| field(x, "status") == 499)
    );
    assert_eq!(
        n("status=400-499").await.len(),
        count(&g, |x| field(x, "status")
            .as_i64()
            .is_some_and(|s| (400..500).contains(&s)))
    );
    assert_eq!(
        n("code=h12").await.len(),
        count(&g, |x| field(x, "code") == "H12")
    );
    assert_eq!(
        n("path=/api/").await.len(),
        count(&g, |x| field(x, "path")
            .as_str()
            .is_some_and(|p| p.starts_with("/api/")))
    );
    let web1 = n("dyno=web.1").await;
    assert!(!web1.is_empty());
    assert!(web1.iter().all(|l| l["dyno"] == "web.1"));
    let web = n("type=web").await;
    assert!(web.len() > web1.len());
    assert!(web
        .iter()
        .all(|l| l["dyno"].as_str().is_some_and(|d| d.starts_with("web."))));
    assert!(n("source=heroku")
        .await
        .iter()
        .all(|l| l["source"] == "heroku"));

    // Words are ANDed and case-insensitive; a quoted phrase is matched whole.
    let phrase = n("q=%22REQUEST+timeout%22").await;
    assert_eq!(phrase.len(), count(&g, |x| field(x, "code") == "H12"));
    let words = n("q=timeout+REQUEST").await;
    assert!(words.len() > phrase.len());
    for l in &words {
        let m = l["message"].as_str().unwrap_or("").to_lowercase();
        assert!(m.contains("timeout") && m.contains("request"), "{m}");
    }
    assert_eq!(n("q=%22timeout+request%22").await.len(), 0);
    // LIKE wildcards are literal: `%` finds the memory reports' percent signs only.
    let percent = n("q=%25").await;
    assert!(!percent.is_empty());
    assert!(percent
        .iter()
        .all(|l| l["message"].as_str().unwrap_or("").contains('%')));
    assert_eq!(n("q=%25zz").await.len(), 0);

    let id = "46add18f-75b9-4dcf-9943-782082f3407e";
    let by_id = n(&format!("request_id={id}")).await;
    assert_eq!(by_id.len(), count(&g, |x| field(x, "request_id") == id));
    assert!(by_id.len() >= 3);

    // since inclusive, until exclusive, on the line's own timestamp.
    let window = n("since=2024-05-01T10:08:39.310540Z&until=2024-05-01T10:08:41Z").await;
    assert_eq!(window.len(), 3, "Deploy, Release (same µs) and Scaled");

    // n: the newest n, oldest first.
    let last2 = n("kind=api&n=2").await;
    let all_api = n("kind=api").await;
    assert_eq!(last2.len(), 2);
    assert_eq!(last2[..], all_api[all_api.len() - 2..]);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn cursor_pages_have_no_gaps_or_repeats_while_lines_arrive() {
    let app = spawn().await;
    post_samples(&app).await;
    let total = golden().len();
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/apps/heroku/logs?n=37&format=json&cursor={c}"),
            None => "/api/apps/heroku/logs?n=37&format=json".to_owned(),
        };
        let page = get_json(&app, &path).await;
        for line in page["lines"].as_array().expect("lines") {
            assert!(
                seen.insert(line["id"].as_str().expect("id").to_owned()),
                "repeat"
            );
        }
        pages += 1;
        if pages == 2 {
            // New lines arrive between pages: they are newer and never shift the pages.
            let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
            post_messages(
                &app,
                "heroku",
                DRAIN,
                &[format!(
                    "<190>1 {now} host app web.1 - arrived mid-paging\n"
                )],
            )
            .await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), total, "every sample line exactly once");
    assert!(pages > 10);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn requests_events_errors_and_loss() {
    let app = spawn().await;
    post_samples(&app).await;
    let g = golden();
    let id = "46add18f-75b9-4dcf-9943-782082f3407e";
    let text = get_text(&app, &format!("/api/apps/heroku/requests/{id}")).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), count(&g, |x| x["fields"]["request_id"] == id));
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "oldest first");

    let events = get_json(&app, "/api/apps/heroku/events?format=json&n=10000").await;
    let events = events["lines"].as_array().expect("lines").clone();
    assert_eq!(
        events.len(),
        count(&g, |x| x["kind"] == "api" || x["kind"] == "system")
    );
    assert!(
        events[0]["ts"].as_str() >= events[events.len() - 1]["ts"].as_str(),
        "newest first"
    );
    assert!(events
        .iter()
        .any(|e| e["fields"]["action"] == "release" && e["fields"]["version"] == 142));

    let errors = get_json(&app, &format!("/api/apps/heroku/stats/errors?{ALL}")).await;
    let codes = errors["codes"].as_array().expect("codes");
    let code_count = |c: &str| {
        codes
            .iter()
            .find(|x| x["code"] == c)
            .map(|x| x["count"].clone())
    };
    assert_eq!(
        code_count("H12"),
        Some(Value::from(count(&g, |x| x["fields"]["code"] == "H12")))
    );
    assert_eq!(
        code_count("R14"),
        Some(Value::from(count(&g, |x| x["fields"]["code"] == "R14")))
    );
    let l10 = codes.iter().find(|x| x["code"] == "L10").expect("L10");
    assert_eq!(l10["desc"], "Drain buffer overflow");
    let h12 = codes.iter().find(|x| x["code"] == "H12").expect("H12");
    assert_eq!(h12["desc"], "Request timeout");
    assert_eq!(h12["first_seen"], "2024-05-01T10:01:01.035810Z");

    let loss = get_json(&app, "/api/apps/heroku/loss").await;
    assert_eq!(loss["dropped"], 10);
    assert_eq!(loss["duplicate_frames"], 1);
    assert_eq!(loss["msg_count_mismatches"], 0);

    let metrics = get_json(&app, &format!("/api/apps/heroku/metrics?{ALL}&bucket=1h")).await;
    let web1 = metrics["dynos"]["web.1"].as_array().expect("web.1 series");
    // 2024-05-01T10:00 bucket: one memory line (memory_total 247.22) for web.1 in post 04.
    let point = web1
        .iter()
        .find(|p| p["ts"] == "2024-05-01T10:00:00.000000Z")
        .expect("bucket");
    assert_eq!(point["memory_total"].as_f64(), Some(247.22));
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn request_stats_match_percentiles_worked_out_by_hand() {
    let app = spawn().await;
    app.app_with_token("shop", DRAIN).await;
    let now = chrono::Utc::now();
    let ts = |ms: i64| {
        (now - chrono::Duration::milliseconds(ms))
            .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            .to_string()
    };
    // /items/:id: service 10, 20, 30, 40 ms; statuses 200, 200, 500, 503; bytes 1+2+3+4.
    // /health: service 5 ms, status 200, bytes 100.
    let router = |i: i64, path: &str, service: i64, status: i64, bytes: i64| {
        format!(
            "<158>1 {} host heroku router - at=info method=GET path=\"{path}\" host=shop.example request_id=r-{i} fwd=\"1.2.3.4\" dyno=web.{} connect=0ms service={service}ms status={status} bytes={bytes} protocol=https\n",
            ts(1000 * i),
            1 + i % 2
        )
    };
    post_messages(
        &app,
        "shop",
        DRAIN,
        &[
            router(1, "/items/1?ref=a", 10, 200, 1),
            router(2, "/items/22", 20, 200, 2),
            router(3, "/items/0f3e8f6a-1b2c-4d5e-8f90-a1b2c3d4e5f6", 30, 500, 3),
            router(4, "/items/4", 40, 503, 4),
            router(5, "/health", 5, 200, 100),
        ],
    )
    .await;
    let stats = get_json(&app, "/api/apps/shop/stats/requests").await;
    let groups = stats["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2);
    let items = &groups[0];
    assert_eq!(items["key"], "/items/:id");
    assert_eq!(items["count"], 4);
    assert_eq!(items["errors"], 2);
    assert_eq!(items["error_rate"], 0.5);
    assert_eq!(items["p50_ms"], 25.0); // halfway between 20 and 30
    assert_eq!(items["p95_ms"], 38.5); // 30 + 0.85 × 10
    assert!((items["p99_ms"].as_f64().unwrap_or(0.0) - 39.7).abs() < 1e-9); // 30 + 0.97 × 10
    assert_eq!(items["max_ms"], 40);
    assert_eq!(items["bytes"], 10);
    assert_eq!(groups[1]["key"], "/health");

    let by_status = get_json(&app, "/api/apps/shop/stats/requests?by=status").await;
    assert_eq!(by_status["groups"][0]["key"], "200");
    assert_eq!(by_status["groups"][0]["count"], 3);
    let by_dyno = get_json(&app, "/api/apps/shop/stats/requests?by=dyno").await;
    assert_eq!(by_dyno["groups"].as_array().map(Vec::len), Some(2));
    let res = get(&app, "/api/apps/shop/stats/requests?by=colour", Some(API)).await;
    assert_eq!(res.status(), 400);
    // Outside the default last hour: nothing.
    let old = get_json(&app, "/api/apps/shop/stats/requests?until=2h").await;
    assert_eq!(old["groups"].as_array().map(Vec::len), Some(0));
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn tail_prints_recent_lines_then_streams_new_ones() {
    let app = spawn().await;
    app.app_with_token("shop", DRAIN).await;
    let now = || {
        chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            .to_string()
    };
    post_messages(
        &app,
        "shop",
        DRAIN,
        &[format!(
            "<190>1 {} host app web.1 - before the tail\n",
            now()
        )],
    )
    .await;

    let mut res = get(
        &app,
        "/api/apps/shop/tail?format=ndjson&dyno=web.1",
        Some(API),
    )
    .await;
    assert_eq!(res.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(5), res.chunk())
        .await
        .expect("backlog in time")
        .expect("chunk")
        .expect("some");
    let line: Value = serde_json::from_slice(&first).expect("ndjson");
    assert_eq!(line["message"], "before the tail");

    // A line for another dyno is filtered out; the matching one arrives.
    post_messages(
        &app,
        "shop",
        DRAIN,
        &[
            format!("<190>1 {} host app web.2 - not for this tail\n", now()),
            format!("<190>1 {} host app web.1 - after the tail started\n", now()),
        ],
    )
    .await;
    let next = tokio::time::timeout(Duration::from_secs(5), res.chunk())
        .await
        .expect("streamed in time")
        .expect("chunk")
        .expect("some");
    let text = String::from_utf8_lossy(&next);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["message"], "after the tail started");

    // SSE: events with the line id.
    let mut sse = app
        .client
        .get(app.url("/api/apps/shop/tail?n=1"))
        .bearer_auth(API)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .expect("sse");
    assert_eq!(sse.headers()["content-type"], "text/event-stream");
    let chunk = sse.chunk().await.expect("chunk").expect("some");
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.starts_with("id: "), "{text}");
    assert!(text.contains("data: {"), "{text}");
    drop(sse);
    drop(res);
    // Stopping the server ends open tails instead of waiting for them.
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("stops promptly")
        .expect("stop");
}

/// A sample body for the documented operations that take one.
fn sample_body(method: &str, path: &str) -> Option<Value> {
    let rule = |name: &str| {
        serde_json::json!({"name": name, "kind": "count", "filter": "code=H12",
                           "threshold": 1, "window": "5m"})
    };
    match (method, path) {
        ("post", "/api/apps/{app}/alerts") => Some(rule("sample-2")),
        ("put", "/api/apps/{app}/alerts/{name}") => Some(rule("sample")),
        ("post", p) if p.ends_with("/snooze") => Some(serde_json::json!({"for": "1h"})),
        _ => None,
    }
}

#[tokio::test]
async fn every_documented_operation_answers_and_every_filter_is_documented() {
    let app = spawn().await;
    post_samples(&app).await;
    // The alert paths need a rule to read, change, snooze and delete.
    let res = app
        .client
        .post(app.url("/api/apps/heroku/alerts"))
        .bearer_auth(API)
        .json(&sample_body("put", "/api/apps/{app}/alerts/{name}"))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let doc: Value = get(&app, "/api/openapi.json", None)
        .await
        .json()
        .await
        .expect("openapi");
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 16);
    let newest = get_json(&app, "/api/apps/heroku/logs?format=json&n=1").await;
    let line_id = newest["lines"][0]["id"]
        .as_str()
        .expect("a line id")
        .to_owned();
    // Every operation, deletes last (the deeper path first), each answering the one success
    // status it documents.
    let mut operations: Vec<(&str, &str, &Value)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("path item");
            item.iter()
                .map(move |(m, op)| (path.as_str(), m.as_str(), op))
        })
        .collect();
    operations.sort_by_key(|(path, method, _)| (*method == "delete", usize::MAX - path.len()));
    assert_eq!(operations.len(), 20);
    for (path, method, op) in operations {
        if path.ends_with("/tail") {
            continue; // streams; covered above
        }
        let success: Vec<&String> = op["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .filter(|code| code.starts_with('2'))
            .collect();
        assert_eq!(success.len(), 1, "{method} {path}: one success status");
        let concrete = path
            .replace("{app}", "heroku")
            .replace("{request_id}", "abc")
            .replace("{id}", &line_id)
            .replace("{name}", "sample");
        let method_name = method.to_uppercase();
        let mut req = app
            .client
            .request(method_name.parse().expect("method"), app.url(&concrete))
            .bearer_auth(API);
        if let Some(body) = sample_body(method, path) {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        assert_eq!(
            res.status().as_str(),
            success[0].as_str(),
            "{method_name} {concrete}"
        );
    }
    let params: Vec<String> = paths["/api/apps/{app}/logs"]["get"]["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .filter_map(|p| p["$ref"].as_str())
        .map(|r| r.rsplit('/').next().unwrap_or("").to_owned())
        .collect();
    for p in logdrain::query::params::LOG_PARAMS {
        assert!(params.iter().any(|d| d == p), "{p} is not documented");
    }
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn a_long_line_split_across_two_requests_reads_back_whole() {
    let app = spawn().await;
    app.app_with_token("shop", DRAIN).await;
    let ts = "2026-11-01T10:00:00.000001+00:00";
    let first = format!("<190>1 {ts} host app web.1 - {}", "a".repeat(10_000));
    let second = format!("<190>1 {ts} host app web.1 - and the rest\n");
    post_messages(&app, "shop", DRAIN, &[first]).await;
    post_messages(
        &app,
        "shop",
        DRAIN,
        &[format!("<190>1 {ts} host app web.2 - elsewhere\n")],
    )
    .await;
    post_messages(&app, "shop", DRAIN, &[second]).await;
    let stored: Vec<Option<bool>> = sqlx::query_scalar("SELECT continued FROM lines ORDER BY id")
        .fetch_all(app.store.pool())
        .await
        .expect("rows");
    assert_eq!(
        stored,
        [Some(true), None, None],
        "stored as it came: the head marked continued"
    );
    let text = get_text(&app, "/api/apps/shop/logs?dyno=web.1").await;
    assert_eq!(
        text,
        format!("{ts} app[web.1]: {}and the rest\n", "a".repeat(10_000))
    );
    let all = get_text(&app, "/api/apps/shop/logs").await;
    assert_eq!(all.lines().count(), 2);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn a_tail_on_one_server_sees_lines_written_by_another_sharing_the_database() {
    let reader = spawn().await;
    let writer = TestApp::spawn_on(&reader.db_url, &["--api-token", API]).await;
    reader.app_with_token("shop", DRAIN).await;
    let mut res = get(&reader, "/api/apps/shop/tail?format=ndjson", Some(API)).await;
    assert_eq!(res.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
    post_messages(
        &writer,
        "shop",
        DRAIN,
        &[format!(
            "<190>1 {now} host app web.1 - written by the other process\n"
        )],
    )
    .await;
    // Well inside the 5 s safety poll: the NOTIFY from the other server's commit wakes it.
    let chunk = tokio::time::timeout(Duration::from_secs(3), res.chunk())
        .await
        .expect("woken by the other server's NOTIFY")
        .expect("chunk")
        .expect("some");
    let line: Value = serde_json::from_slice(&chunk).expect("json");
    assert_eq!(line["message"], "written by the other process");
    drop(res);
    writer.stop().await.expect("stop writer");
    reader.stop().await.expect("stop reader");
}

#[tokio::test]
async fn a_read_past_the_query_timeout_is_stopped_with_a_named_error() {
    let app = TestApp::spawn_with(&["--api-token", API, "--query-timeout", "300ms"]).await;
    post_samples(&app).await;
    let before = get_json(&app, "/api/apps/heroku/logs?n=5&format=json").await;

    // A long-running statement, made deterministic: another session holds the table's lock,
    // so every read waits on it until Postgres stops the read at its statement_timeout.
    let mut blocker = sqlx::PgConnection::connect(&app.db_url)
        .await
        .expect("connect");
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("LOCK TABLE lines IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    // More reads than the pool has connections: each cancelled read must leave its connection
    // usable for the next one.
    for path in [
        "/api/apps/heroku/logs?n=5",
        "/api/apps/heroku/logs?q=timeout",
        "/api/apps/heroku/stats/requests?since=30d",
        "/api/apps/heroku/stats/errors?since=30d",
        "/api/apps/heroku/metrics?since=30d",
        "/api/apps/heroku/events",
        "/api/apps/heroku/requests/abc",
        "/api/apps/heroku/logs?n=1",
        "/api/apps/heroku/logs?n=2",
        "/api/apps/heroku/logs?n=3",
    ] {
        let started = std::time::Instant::now();
        let res = get(&app, path, Some(API)).await;
        assert_eq!(res.status(), 503, "{path}");
        let body: Value = res.json().await.expect("json error");
        assert_eq!(body["error"]["code"], "query_timeout", "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("LOGDRAIN_QUERY_TIMEOUT (0.3s)"),
            "{message}"
        );
        assert!(message.contains("since/until"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(10), "{path}");
    }
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();

    // The same reads answer again, from the same pool.
    let after = get_json(&app, "/api/apps/heroku/logs?n=5&format=json").await;
    assert_eq!(before, after);
    for _ in 0..10 {
        get_json(&app, "/api/apps/heroku/stats/requests?since=30d").await;
    }
    app.stop().await.unwrap();
}
