//! Postgres stops mid-test: the drain answers 503 + Retry-After fast, then recovers by itself
//! and nothing acknowledged is lost or stored twice.

use crate::helpers::{basic, own_cluster, post_sample, sample_posts, TestApp};
use std::time::{Duration, Instant};

#[tokio::test]
async fn postgres_outage_gets_503_then_recovers_with_nothing_lost() {
    // A cluster of its own, so stopping it does not disturb other tests.
    let (mut cluster, db_url) = own_cluster().await;
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
    assert_eq!(app.readyz_status().await, 503);

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
    let n = app.line_count().await;
    assert_eq!(n as usize, first.expected_count + second.expected_count);
    app.stop().await.expect("stop");
    drop(cluster);
}

#[tokio::test]
async fn a_stalled_database_fills_the_queue_gets_503s_and_retries_store_each_frame_once() {
    use sqlx::Connection as _;
    // A post of sample 06 queues about 10.9 KB of rows: four of them leave less than a tenth
    // of a 45 KiB queue free, which /readyz calls full (a fifth does not fit).
    let app = TestApp::spawn_with(&[
        "--max-body",
        "16KiB",
        "--queue-bytes",
        "45KiB",
        "--ack-timeout",
        "1s",
    ])
    .await;
    app.app_with_token("heroku", "s3cr3t-t0ken").await;
    let auth = basic("heroku", "s3cr3t-t0ken");
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("06")).expect("06");

    // Hold a lock that blocks every COPY into `lines`: the writers stall, the queue fills.
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

    // Logplex keeps sending new frames, a few at once; each is answered 503 with Retry-After
    // within its 5 s, and what was admitted stays queued until /readyz says the queue is full.
    let send_wave = |app: &TestApp, from: usize| {
        let mut set = tokio::task::JoinSet::new();
        for i in from..from + 4 {
            let req = app
                .client
                .post(app.url("/logs"))
                .header("Authorization", &auth)
                .header("Logplex-Frame-Id", format!("{i:032X}"))
                .body(post.body.clone());
            set.spawn(async move {
                let started = Instant::now();
                let res = req.send().await.expect("send");
                (
                    res.status().as_u16(),
                    res.headers().contains_key("retry-after"),
                    started.elapsed(),
                )
            });
        }
        set
    };
    let mut sent = 0;
    while app.readyz_status().await != 503 {
        assert!(sent < 40, "the queue never filled");
        let mut set = send_wave(&app, sent);
        sent += 4;
        while let Some(r) = set.join_next().await {
            let (status, retry_after, took) = r.expect("task");
            assert_eq!(status, 503, "nothing can commit while the table is locked");
            assert!(retry_after);
            assert!(
                took < Duration::from_secs(5),
                "answered within Logplex's 5 s"
            );
        }
    }

    // The database recovers; Logplex retries every frame with the same Frame-Id.
    sqlx::query("COMMIT")
        .execute(&mut locker)
        .await
        .expect("unlock");
    let mut remaining: Vec<usize> = (0..sent).collect();
    for _ in 0..40 {
        let mut still = Vec::new();
        for &i in &remaining {
            let res = app
                .client
                .post(app.url("/logs"))
                .header("Authorization", &auth)
                .header("Logplex-Frame-Id", format!("{i:032X}"))
                .body(post.body.clone())
                .send()
                .await
                .expect("send");
            if res.status() != 204 {
                still.push(i);
            }
        }
        remaining = still;
        if remaining.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(remaining.is_empty(), "frames never accepted: {remaining:?}");
    let n = app.line_count().await;
    assert_eq!(
        n as usize,
        sent * post.expected_count,
        "each frame stored exactly once"
    );
}
