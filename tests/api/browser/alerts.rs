//! The overview's alert panel in real headless Chromium: a rule that fires (a real H12 line,
//! evaluated by the server's own rounds) is listed first with its state and its transition,
//! a quiet one after it, a filter holding markup is shown as text, and a page session cannot
//! change rules.

use super::chrome::{js, open, screenshot, sign_in, until, Driver};
use super::SERVER_TOKEN;
use crate::helpers::{post_lines, TestApp, QUICK_DRAIN as DRAIN};
use logdrain::record::AppName;
use serde_json::json;
use std::time::{Duration, Instant};

/// A router line with an H12 (request timeout), stamped now.
fn h12_line() -> String {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    format!(
        "<158>1 {now} host heroku router - at=error code=H12 desc=\"Request timeout\" \
         method=GET path=\"/checkout\" host=shop.herokuapp.com request_id=r1 \
         fwd=\"203.0.113.7\" dyno=web.1 connect=1ms service=30000ms status=503 bytes=0 \
         protocol=https"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_the_apps_alert_rules_with_a_firing_one_first() {
    let app = TestApp::spawn_with(&[
        "--api-token",
        SERVER_TOKEN,
        "--drain-token",
        DRAIN,
        "--alert-every",
        "1s",
    ])
    .await;
    app.store
        .create_app(&AppName::parse("shop").expect("name"))
        .await
        .expect("create shop");
    let rules = [
        json!({"name": "h12", "kind": "count", "filter": "code=H12", "window": "1h"}),
        json!({"name": "quiet", "kind": "count", "filter": "q=<b>boom</b>", "window": "5m"}),
    ];
    for rule in rules {
        let res = app
            .client
            .post(app.url("/api/apps/shop/alerts"))
            .bearer_auth(SERVER_TOKEN)
            .json(&rule)
            .send()
            .await
            .expect("create rule");
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    post_lines(&app, "shop", &[h12_line()]).await;
    let started = Instant::now();
    loop {
        let status = app
            .client
            .get(app.url("/api/apps/shop/alerts/h12/status"))
            .bearer_auth(SERVER_TOKEN)
            .send()
            .await
            .expect("status")
            .status();
        if status == 503 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "h12 never fired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut driver = Driver::start().await;
    let c = driver.session().await;
    let base = app.url("");
    sign_in(&c, &base, SERVER_TOKEN).await;
    open(&c, &format!("{base}/apps/shop")).await;
    until(
        &c,
        "the alert panel",
        "return document.getElementById('alerts-panel').dataset.loaded",
        10,
    )
    .await;
    let rows = js(
        &c,
        "return [...document.querySelectorAll('#alerts tbody tr')].map((tr) => ({
           rule: tr.dataset.rule, state: tr.dataset.state,
           chip: tr.querySelector('.chip') && tr.querySelector('.chip').textContent,
           transitions: [...tr.querySelectorAll('ul.transitions li')].map((li) => li.textContent),
           text: tr.textContent }))",
    )
    .await;
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["rule"], "h12", "the firing rule first: {rows:?}");
    assert_eq!(rows[0]["state"], "firing");
    assert_eq!(rows[0]["chip"], "firing");
    let transitions = rows[0]["transitions"].as_array().expect("transitions");
    assert!(
        transitions
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.ends_with("ok → firing"))),
        "{transitions:?}"
    );
    assert!(
        rows[0]["text"].as_str().unwrap_or("").contains("1 ≥ 1"),
        "value and threshold: {rows:?}"
    );
    assert_eq!(rows[1]["rule"], "quiet");
    assert_eq!(rows[1]["state"], "ok");
    assert!(
        rows[1]["text"]
            .as_str()
            .unwrap_or("")
            .contains("q=<b>boom</b>"),
        "the filter shown as written: {rows:?}"
    );
    let markup = js(&c, "return document.querySelectorAll('#alerts b').length").await;
    assert_eq!(markup, 0, "and never as markup");
    let summary = js(
        &c,
        "return document.querySelector('#alerts-panel .alerts-summary').textContent",
    )
    .await;
    assert_eq!(summary, "1 firing");
    screenshot(&c, "overview-alerts").await;

    // The page's session reads rules; it cannot change them, even the server token's.
    let refused = js(
        &c,
        "return fetch('/api/apps/shop/alerts/h12', {method: 'DELETE'}).then((r) => r.status);",
    )
    .await;
    assert_eq!(refused, 403);
    let still = js(
        &c,
        "return fetch('/api/apps/shop/alerts/h12').then((r) => r.status);",
    )
    .await;
    assert_eq!(still, 200);
    c.close().await.expect("close");
    app.stop().await.expect("stop");
}
