//! Delivery of alert notifications: once across three servers, retried past a failing
//! receiver, held back by a snooze, and repeated as reminders while a rule fires.

use super::*;

#[tokio::test]
async fn three_servers_on_one_database_send_each_notification_once() {
    let db_url = fresh_database_on_admin().await;
    let a = TestApp::spawn_on(&db_url, FLAGS).await;
    let b = TestApp::spawn_on(&db_url, FLAGS).await;
    let c = TestApp::spawn_on(&db_url, FLAGS).await;
    post(&a, &[worker_line()], None).await;
    let receiver = Receiver::start(0).await;
    create(
        &b,
        json!({"name": "errors", "kind": "count", "filter": "status=5xx", "threshold": 1,
               "window": "3s", "notify": [receiver.url()]}),
    )
    .await;
    post(&c, &[router_line("/a", 502, 5, None)], None).await;
    fires_then_resolves_once(&receiver).await;
    assert_eq!(receiver.hits(), 2);
    for app in [a, b, c] {
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_notification_once() {
    let app = server().await;
    let receiver = Receiver::start(2).await;
    create(
        &app,
        json!({"name": "h12", "kind": "count", "filter": "code=H12", "window": "1h",
               "notify": [receiver.url()]}),
    )
    .await;
    post(&app, &[router_line("/a", 503, 30000, Some("H12"))], None).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(states(&got), ["firing"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.accepted().len(), 1);
    assert_eq!(receiver.hits(), 3, "two failures, then one success");
    let (_, rule) = api(
        &app,
        reqwest::Method::GET,
        "/api/apps/shop/alerts/h12",
        None,
    )
    .await;
    let d = &rule["deliveries"][0];
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["last_status"], 200);
}

#[tokio::test]
async fn a_snoozed_rule_fires_but_stays_quiet() {
    let app = server().await;
    let receiver = Receiver::start(0).await;
    create(
        &app,
        json!({"name": "h12", "kind": "count", "filter": "code=H12", "window": "1h",
               "notify": [receiver.url()]}),
    )
    .await;
    let (status, snoozed) = api(
        &app,
        reqwest::Method::POST,
        "/api/apps/shop/alerts/h12/snooze",
        Some(json!({"for": "1h"})),
    )
    .await;
    assert_eq!(status, 200, "{snoozed}");
    assert!(snoozed["snooze_until"].as_str().is_some());
    post(&app, &[router_line("/a", 503, 30000, Some("H12"))], None).await;
    let start = Instant::now();
    while status_code(&app, "h12").await != 503 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status_code(&app, "h12").await, 503, "it fires");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.hits(), 0, "but sends nothing");
    // Woken up, the firing is announced once.
    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        "/api/apps/shop/alerts/h12/snooze",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(states(&receiver.wait_for(1).await), ["firing"]);
}

#[tokio::test]
async fn a_firing_rule_with_remind_sends_reminders_until_it_resolves() {
    let app = server().await;
    let receiver = Receiver::start(0).await;
    create(
        &app,
        json!({"name": "h12", "kind": "count", "filter": "code=H12", "window": "4s",
               "remind": "1s", "notify": [receiver.url()]}),
    )
    .await;
    post(&app, &[router_line("/a", 503, 30000, Some("H12"))], None).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[0]["state"], "firing");
    assert_eq!(got[0]["reminder"], false);
    assert_eq!(got[1]["state"], "firing");
    assert_eq!(got[1]["reminder"], true);
    // Then it resolves once, and the reminders stop.
    let start = Instant::now();
    while !states(&receiver.accepted()).contains(&"resolved".to_owned())
        && start.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let all = states(&receiver.accepted());
    assert_eq!(all.last().map(String::as_str), Some("resolved"), "{all:?}");
    assert_eq!(
        all.iter().filter(|s| *s == "resolved").count(),
        1,
        "{all:?}"
    );
}
