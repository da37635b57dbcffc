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
    let db_url = fresh_database_on_admin().await;
    let mut config = serve_config(&db_url, FLAGS);
    config.alert_rules =
        logdrain::alerts::rule::validate_config(logdrain::cli::alerts_table(toml).unwrap())
            .unwrap();
    let app = TestApp::spawn_configured(&db_url, config).await;
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
