//! Alert rules as the API and the config file keep them: who may change them, what status
//! tokens grant, and the history kept per rule.

use super::*;

#[tokio::test]
async fn only_the_server_token_changes_rules_and_status_tokens_grant_only_status() {
    let app = server().await;
    sqlx::query("UPDATE apps SET read_token_hash = $1 WHERE name = 'shop'")
        .bind(logdrain::store::apps::hash_token(
            "shop-read-token-0123456789",
        ))
        .execute(app.store.pool())
        .await
        .unwrap();
    let rule = json!({"name": "h12", "kind": "count", "filter": "code=H12", "window": "5m"});
    let as_reader = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth("shop-read-token-0123456789")
    };
    let res = as_reader(reqwest::Method::POST, "/api/apps/shop/alerts")
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let created = create(&app, rule.clone()).await;
    let token = created["status_token"].as_str().unwrap().to_owned();
    // Readers list; they do not delete.
    let res = as_reader(reqwest::Method::GET, "/api/apps/shop/alerts")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = as_reader(reqwest::Method::DELETE, "/api/apps/shop/alerts/h12")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Twice: 409. A bad filter: 400 naming it.
    let (status, _) = api(
        &app,
        reqwest::Method::POST,
        "/api/apps/shop/alerts",
        Some(rule),
    )
    .await;
    assert_eq!(status, 409);
    let (status, err) = api(
        &app,
        reqwest::Method::POST,
        "/api/apps/shop/alerts",
        Some(json!({"name": "x", "kind": "count", "filter": "status=9zz", "window": "5m"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("filter: status"),
        "{err}"
    );
    // The status URL without headers, with the rule's token; a wrong one is refused.
    let url = app.url(&format!("/api/apps/shop/alerts/h12/status?token={token}"));
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 200);
    let bad = app.url("/api/apps/shop/alerts/h12/status?token=nope");
    assert_eq!(app.client.get(&bad).send().await.unwrap().status(), 401);
    // The status token reads nothing else.
    let res = app
        .client
        .get(app.url("/api/apps/shop/alerts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Update, then delete.
    let (status, updated) = api(
        &app,
        reqwest::Method::PUT,
        "/api/apps/shop/alerts/h12",
        Some(json!({"name": "h12", "kind": "count", "filter": "code=H12", "threshold": 10, "window": "10m"})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["threshold"], 10.0);
    assert_eq!(updated["window_secs"], 600);
    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        "/api/apps/shop/alerts/h12",
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn config_file_rules_are_stored_listed_and_only_changed_in_the_file() {
    let toml = r#"
[[alerts]]
name = "worker-silent"
app = "shop"
kind = "absence"
filter = "dyno=worker.1"
window = "10m"
for = "1m"
notify = ["https://hooks.slack.com/services/T0/B0/SECRET"]
"#;
    // A real --config file, read by the same loader as `logdrain serve --config`.
    let app = TestApp::spawn_with_rules(FLAGS, toml).await;
    post(&app, &[worker_line()], None).await;
    let (_, list) = api(&app, reqwest::Method::GET, "/api/apps/shop/alerts", None).await;
    let rule = &list["alerts"][0];
    assert_eq!(rule["name"], "worker-silent");
    assert_eq!(rule["source"], "config");
    assert_eq!(rule["for_secs"], 60);
    assert_eq!(rule["notify"][0]["format"], "slack");
    assert_eq!(rule["notify"][0]["target"], "https://hooks.slack.com/…");
    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        "/api/apps/shop/alerts/worker-silent",
        None,
    )
    .await;
    assert_eq!(status, 409);
    // A status token can still be issued for it.
    let (status, body) = api(
        &app,
        reqwest::Method::POST,
        "/api/apps/shop/alerts/worker-silent/status-token",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let res = app
        .client
        .get(app.url(body["status_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Runs maintenance once as of now, keeping `keep` history entries per rule.
async fn prune(app: &TestApp, keep: u64) -> logdrain::store::partitions::Report {
    let policy = logdrain::store::partitions::Policy {
        search_index: false,
        alert_history_keep: keep,
        ..Default::default()
    };
    let report = app
        .store
        .maintain(&policy, chrono::Utc::now().timestamp_micros())
        .await
        .expect("maintain");
    assert!(report.ran && report.errors.is_empty(), "{report:?}");
    report
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.store.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn maintenance_keeps_the_newest_history_of_each_rule_and_every_pending_notification() {
    let app = server().await;
    let receiver = Receiver::start(0).await;
    create(
        &app,
        json!({"name": "h12", "kind": "count", "filter": "code=H12", "window": "1h",
               "notify": [receiver.url()]}),
    )
    .await;
    create(
        &app,
        json!({"name": "quiet", "kind": "count", "filter": "code=H10", "window": "1h"}),
    )
    .await;
    // A day of flapping before: 30 state changes and 30 delivered notifications of h12, one
    // notification a sender still holds, and three state changes of the other rule.
    let seed = [
        "INSERT INTO alert_deliveries (rule_id, event, url, target, format, payload, lease_until) \
         SELECT id, 'firing', 'http://127.0.0.1:9/held', 'http://127.0.0.1:9/…', 'webhook', '{}', \
         now() + interval '1 hour' FROM alert_rules WHERE name = 'h12'",
        "INSERT INTO alert_history (rule_id, at, from_state, to_state, value) \
         SELECT r.id, now() - interval '1 day' + i * interval '1 minute', \
                CASE WHEN i % 2 = 0 THEN 'resolved' ELSE 'firing' END, \
                CASE WHEN i % 2 = 0 THEN 'firing' ELSE 'resolved' END, i \
         FROM alert_rules r, generate_series(1, 30) i WHERE r.name = 'h12'",
        "INSERT INTO alert_deliveries (rule_id, event, url, target, format, payload, status, \
           attempts, last_status, created_at, finished_at) \
         SELECT r.id, 'firing', 'http://127.0.0.1:9/old', 'http://127.0.0.1:9/…', 'webhook', \
                '{}', 'delivered', 1, 200, now() - interval '1 day' + i * interval '1 minute', \
                now() - interval '1 day' + i * interval '1 minute' \
         FROM alert_rules r, generate_series(1, 30) i WHERE r.name = 'h12'",
        "INSERT INTO alert_history (rule_id, at, from_state, to_state) \
         SELECT r.id, now() - interval '2 days' + i * interval '1 hour', 'ok', 'pending' \
         FROM alert_rules r, generate_series(1, 3) i WHERE r.name = 'quiet'",
    ];
    for sql in seed {
        sqlx::query(sql)
            .execute(app.store.pool())
            .await
            .expect("seed");
    }
    // Then h12 fires for real, and its notification is delivered.
    post(&app, &[router_line("/a", 503, 30000, Some("H12"))], None).await;
    assert_eq!(states(&receiver.wait_for(1).await), ["firing"]);
    let delivered = "SELECT count(*) FROM alert_deliveries \
                     WHERE status = 'delivered' AND target LIKE 'http://127.0.0.1:%' \
                     AND url NOT LIKE '%:9/%'";
    let start = Instant::now();
    while count(&app, delivered).await < 1 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let h12_history =
        "SELECT count(*) FROM alert_history h JOIN alert_rules r ON r.id = h.rule_id \
                       WHERE r.name = 'h12'";
    let before = count(&app, h12_history).await;
    assert!(before > 30, "the real state change is stored too");

    let report = prune(&app, 5).await;
    assert_eq!(report.alert_history_pruned, before as u64 - 5);
    assert_eq!(
        report.alert_deliveries_pruned,
        31 - 5,
        "finished ones beyond 5"
    );

    let (_, listed) = api(&app, reqwest::Method::GET, "/api/apps/shop/alerts", None).await;
    let rule = |name: &str| {
        listed["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .find(|r| r["name"] == name)
            .expect("rule")
            .clone()
    };
    let h12 = rule("h12");
    let history = h12["history"].as_array().expect("history");
    assert_eq!(history.len(), 5, "{history:?}");
    assert_eq!(history[0]["to"], "firing", "the newest, real change stays");
    assert_eq!(
        history[1]["value"], 30.0,
        "then the newest of the day before"
    );
    assert_eq!(history[4]["value"], 27.0);
    let deliveries = h12["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 6, "five finished plus the pending one");
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(
        deliveries[0]["target"],
        format!("http://{}/…", receiver.addr)
    );
    assert_eq!(
        deliveries[5]["status"], "pending",
        "never pruned: still to send"
    );
    assert_eq!(h12["state"], "firing", "the rule's own state is untouched");
    assert_eq!(rule("quiet")["history"].as_array().map(Vec::len), Some(3));

    // Nothing more to prune on the next run.
    let again = prune(&app, 5).await;
    assert_eq!(
        (again.alert_history_pruned, again.alert_deliveries_pruned),
        (0, 0)
    );
}
