//! Postgres stops mid-test: the drain answers 503 + Retry-After fast, then recovers by itself
//! and nothing acknowledged is lost or stored twice.

use crate::helpers::{basic, fresh_database_on, post_sample, sample_posts, TestApp};
use logdrain::store::pgcluster::{ClusterOptions, PrivateCluster};
use std::time::{Duration, Instant};

#[tokio::test]
async fn postgres_outage_gets_503_then_recovers_with_nothing_lost() {
    // A cluster of its own, so stopping it does not disturb other tests.
    let mut cluster =
        tokio::task::spawn_blocking(|| PrivateCluster::start(ClusterOptions::ephemeral_in_temp()))
            .await
            .expect("task")
            .expect("cluster");
    let db_url = fresh_database_on(&cluster.url("postgres")).await;
    let app = TestApp::spawn_on(&db_url, &["--ack-timeout", "3s"]).await;
    app.app_with_token("heroku", "s3cr3t-t0ken").await;
    let auth = basic("heroku", "s3cr3t-t0ken");
    let posts = sample_posts();
    let first = posts.iter().find(|p| p.name.starts_with("01")).expect("01");
    let second = posts.iter().find(|p| p.name.starts_with("03")).expect("03");
    assert_eq!(post_sample(&app, first, &auth).await.status(), 204);

    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop_server().expect("stop");
        cluster
    })
    .await
    .expect("task");

    let started = Instant::now();
    let res = post_sample(&app, second, &auth).await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered within Logplex's 5 s"
    );
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start_server().expect("start");
        cluster
    })
    .await
    .expect("task");

    // Logplex retries the same frame; the server recovers without a restart.
    let mut status = 0;
    for _ in 0..20 {
        status = post_sample(&app, second, &auth).await.status().as_u16();
        if status == 204 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, 204);
    assert_eq!(
        post_sample(&app, first, &auth).await.status(),
        204,
        "a late retry of the first frame"
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM lines")
        .fetch_one(app.store.pool())
        .await
        .expect("count");
    assert_eq!(n as usize, first.expected_count + second.expected_count);
    app.stop().await.expect("stop");
    drop(cluster);
}
