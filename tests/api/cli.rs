//! The `logdrain` binary itself: app management commands and SIGTERM handling.

use crate::helpers::{basic, post_sample, sample_posts, serve_binary, TestApp};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn logdrain(db_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_logdrain"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env_remove("LOGDRAIN_DRAIN_TOKEN")
        .output()
        .expect("run logdrain");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn token_in(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.contains("heroku drains:add"))
        .expect("drains:add line");
    let url = line.split_whitespace().nth(2).expect("url");
    let creds = url
        .strip_prefix("https://")
        .and_then(|r| r.split_once('@'))
        .expect("creds")
        .0;
    creds.split_once(':').expect("name:token").1.to_owned()
}

#[tokio::test]
async fn rotate_replaces_the_drain_token_and_delete_removes_the_app_and_its_lines() {
    let app = TestApp::spawn_with(&["--auth-cache-ttl", "0s"]).await;
    let (ok, out, err) = logdrain(&app.db_url, &["apps", "create", "acme-shop"]);
    assert!(ok, "{err}");
    let old = token_in(&out);
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("01")).expect("01");
    assert_eq!(
        post_sample(&app, post, &basic("acme-shop", &old))
            .await
            .status(),
        204
    );

    let (ok, out, err) = logdrain(
        &app.db_url,
        &[
            "apps",
            "rotate",
            "acme-shop",
            "--url",
            "https://logs.example.com",
        ],
    );
    assert!(ok, "{err}");
    let new = token_in(&out);
    assert_ne!(old, new);
    assert_eq!(
        post_sample(&app, post, &basic("acme-shop", &old))
            .await
            .status(),
        401
    );
    let second = posts.iter().find(|p| p.name.starts_with("03")).expect("03");
    assert_eq!(
        post_sample(&app, second, &basic("acme-shop", &new))
            .await
            .status(),
        204
    );

    let (ok, out, _) = logdrain(&app.db_url, &["apps", "list"]);
    assert!(ok);
    let row = out
        .lines()
        .find(|l| l.starts_with("acme-shop"))
        .expect("listed");
    let lines: usize = row
        .split_whitespace()
        .nth(1)
        .expect("lines")
        .parse()
        .expect("number");
    assert_eq!(lines, post.expected_count + second.expected_count);

    let (ok, _, err) = logdrain(&app.db_url, &["apps", "delete", "acme-shop"]);
    assert!(ok, "{err}");
    let n = app.line_count().await;
    assert_eq!(n, 0);
    assert_eq!(
        post_sample(&app, post, &basic("acme-shop", &new))
            .await
            .status(),
        401
    );

    let (ok, _, err) = logdrain(&app.db_url, &["apps", "delete", "acme-shop"]);
    assert!(!ok);
    assert!(err.contains("no app named acme-shop"), "{err}");
    let (ok, _, err) = logdrain(&app.db_url, &["apps", "create", "Bad_Name"]);
    assert!(!ok);
    assert!(err.contains("not a Heroku app name"), "{err}");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly_after_answering_what_it_accepted() {
    // A database prepared by the harness; the real binary serves it.
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", "s3cr3t-t0ken").await;
    let (mut child, base) = serve_binary(&app).await;
    let posts = sample_posts();
    let post = posts.iter().find(|p| p.name.starts_with("15")).expect("15");
    let res = app
        .client
        .post(format!("{base}/logs"))
        .header("Authorization", basic("heroku", "s3cr3t-t0ken"))
        .body(post.body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
    let n = app.line_count().await;
    assert_eq!(n as usize, post.expected_count);
}

#[tokio::test]
async fn logs_and_tail_commands_print_what_heroku_logs_prints() {
    let api = "api-token-0123456789abcdef";
    let app = TestApp::spawn_with(&["--api-token", api]).await;
    app.app_with_token("heroku", "s3cr3t-t0ken").await;
    let auth = basic("heroku", "s3cr3t-t0ken");
    for post in sample_posts() {
        assert_eq!(post_sample(&app, &post, &auth).await.status(), 204);
    }
    let url = app.url("");
    // The server runs on this test's runtime: run the client off it.
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let out = Command::new(env!("CARGO_BIN_EXE_logdrain"))
                    .args(&args)
                    .env("LOGDRAIN_URL", &url)
                    .env("LOGDRAIN_TOKEN", api)
                    .env_remove("DATABASE_URL")
                    .output()
                    .expect("run");
                (
                    out.status.success(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            })
            .await
            .expect("join")
        }
    };
    // Piped, so plain text: the same bytes the API's text format gives.
    let (ok, out, err) = run(&[
        "logs", "-a", "heroku", "-n", "3", "-d", "web", "--kind", "system",
    ])
    .await;
    assert!(ok, "{err}");
    let direct = app
        .client
        .get(app.url("/api/apps/heroku/logs?n=3&type=web&kind=system"))
        .bearer_auth(api)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert_eq!(out, direct);
    assert_eq!(out.lines().count(), 3);
    assert!(out.lines().all(|l| l.contains(" heroku[web.")), "{out}");
    assert!(!out.contains('\u{1b}'), "no colour when piped");

    let (ok, out, _) = run(&[
        "logs",
        "-a",
        "heroku",
        "-q",
        "\"Request timeout\"",
        "-s",
        "heroku",
    ])
    .await;
    assert!(ok);
    assert_eq!(out.lines().count(), 2);

    let (ok, _, err) = run(&["logs", "-a", "heroku", "--level", "loud"]).await;
    assert!(!ok);
    assert!(err.contains("level"), "{err}");

    // tail: the backlog comes out, then the command keeps running until stopped.
    let mut child = Command::new(env!("CARGO_BIN_EXE_logdrain"))
        .args(["tail", "-a", "heroku", "-n", "2"])
        .env("LOGDRAIN_URL", &url)
        .env("LOGDRAIN_TOKEN", api)
        .stdout(Stdio::piped())
        .spawn()
        .expect("tail");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        child.try_wait().expect("poll").is_none(),
        "tail keeps running"
    );
    child.kill().expect("kill");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("output"))
        .await
        .expect("join");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let started = Instant::now();
    app.stop().await.expect("stop");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_config_file_feeds_settings_and_its_mistakes_stop_startup() {
    let app = TestApp::spawn().await;
    app.app_with_token("listed-app", "s3cr3t-t0ken").await;
    let dir = std::env::temp_dir().join(format!("logdrain-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        format!("database_url = {:?}\ndb_pool = 4\n", app.db_url),
    )
    .expect("write");
    let run = |args: Vec<String>| async move {
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_logdrain"))
                .args(&args)
                .env_remove("DATABASE_URL")
                .env_remove("LOGDRAIN_DRAIN_TOKEN")
                .output()
                .expect("run");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .await
        .expect("join")
    };
    // The database URL comes from the file alone.
    let (ok, out, err) = run(vec![
        "apps".into(),
        "list".into(),
        "--config".into(),
        good.display().to_string(),
    ])
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("listed-app"), "{out}");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "max_bodyy = \"1MiB\"\n").expect("write");
    let (ok, _, err) = run(vec![
        "serve".into(),
        "--config".into(),
        bad.display().to_string(),
    ])
    .await;
    assert!(!ok);
    assert!(err.contains("unknown setting `max_bodyy`"), "{err}");
    assert!(err.contains("bad.toml"), "{err}");

    std::fs::write(&bad, "max_body = \"lots\"\n").expect("write");
    let (ok, _, err) = run(vec![
        "serve".into(),
        "--config".into(),
        bad.display().to_string(),
    ])
    .await;
    assert!(!ok);
    assert!(err.contains("--max-body"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn sigterm_under_load_loses_no_acknowledged_line() {
    let app = TestApp::spawn().await;
    app.app_with_token("heroku", "s3cr3t-t0ken").await;
    let (mut child, base) = serve_binary(&app).await;
    // Eight Logplex-like senders, each posting 200-line frames with their own frame ids.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for sender in 0..8u64 {
        let client = app.client.clone();
        let url = format!("{base}/logs");
        let stop = stop.clone();
        senders.push(tokio::spawn(async move {
            let mut corpus = logdrain::synth::Corpus::new(sender);
            let mut acked = Vec::new();
            let mut frame = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut body = Vec::new();
                corpus.body(200, &mut body);
                let id = format!("{sender:02}{frame:030}");
                frame += 1;
                match client
                    .post(&url)
                    .header("Authorization", basic("heroku", "s3cr3t-t0ken"))
                    .header("Logplex-Frame-Id", &id)
                    .header("Logplex-Msg-Count", "200")
                    .body(body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 204 => acked.push(id),
                    Ok(_) => {}
                    Err(_) => break, // the server stopped accepting
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit within Heroku's 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(exit.success(), "exit status {exit:?}");
    let mut acked = Vec::new();
    for s in senders {
        acked.extend(s.await.expect("sender"));
    }
    assert!(
        acked.len() > 8,
        "load was applied: {} frames acknowledged",
        acked.len()
    );
    // Every acknowledged frame is stored whole; no frame is stored partly or twice.
    let per_frame: Vec<(String, i64)> =
        sqlx::query_as("SELECT frame_id, count(*) FROM all_lines GROUP BY frame_id")
            .fetch_all(app.store.pool())
            .await
            .expect("counts");
    let stored: std::collections::HashMap<String, i64> = per_frame.into_iter().collect();
    for id in &acked {
        assert_eq!(stored.get(id), Some(&200), "acknowledged frame {id}");
    }
    assert!(
        stored.values().all(|&n| n == 200),
        "a frame stored partly or twice"
    );
}

/// The URL path and `Authorization` value of the printed `heroku telemetry:add` line, and the
/// `-a APP` / `-s SPACE` it ends with.
fn telemetry_add_in(stdout: &str) -> (String, String, String) {
    let line = stdout
        .lines()
        .find(|l| l.contains("heroku telemetry:add"))
        .expect("telemetry:add line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let url = words[2];
    let path = url
        .strip_prefix("https://logs.example.com")
        .expect("the --url base")
        .to_owned();
    let headers = line
        .split_once("--headers '")
        .and_then(|(_, r)| r.split_once('\''))
        .expect("headers")
        .0;
    let headers: serde_json::Value = serde_json::from_str(headers).expect("headers JSON");
    let auth = headers["Authorization"].as_str().expect("auth").to_owned();
    let target = words[words.len() - 2..].join(" ");
    (path, auth, target)
}

#[tokio::test]
async fn apps_create_and_spaces_create_print_a_telemetry_add_line_that_works() {
    let app = TestApp::spawn().await;
    let url = ["--url", "https://logs.example.com"];
    let (ok, out, err) = logdrain(
        &app.db_url,
        &[&["apps", "create", "fir-app"][..], &url].concat(),
    );
    assert!(ok, "{err}");
    assert!(out.contains("heroku drains:add https://fir-app:"));
    let (path, auth, target) = telemetry_add_in(&out);
    assert_eq!(path, "/otlp");
    assert_eq!(target, "-a fir-app");
    assert!(out.contains("--signals logs --transport http"));

    let (ok, out, err) = logdrain(
        &app.db_url,
        &[&["spaces", "create", "fir-space"][..], &url].concat(),
    );
    assert!(ok, "{err}");
    let (space_path, space_auth, space_target) = telemetry_add_in(&out);
    assert_eq!(space_target, "-s fir-space");

    let export = |service: &str, path: &str| {
        serde_json::json!({"resourceLogs": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeLogs": [{"logRecords": [{"body": {"stringValue": format!("hello via {path}")}}]}]}]})
        .to_string()
    };
    // Heroku may or may not append /v1/logs to the URL: both answer.
    for (path, auth, service) in [
        (path.clone(), auth.clone(), "fir-app"),
        (format!("{path}/v1/logs"), auth, "fir-app"),
        (format!("{space_path}/v1/logs"), space_auth, "space-member"),
    ] {
        let res = app
            .client
            .post(app.url(&path))
            .header("Authorization", auth)
            .header("Content-Type", "application/json")
            .body(export(service, &path))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 200, "{path}");
    }
    let apps: Vec<(String, i64)> = sqlx::query_as(
        "SELECT a.name, count(l.*) FROM apps a LEFT JOIN lines l ON l.app_id = a.id GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(app.store.pool())
    .await
    .expect("apps");
    assert_eq!(
        apps,
        vec![("fir-app".into(), 2), ("space-member".into(), 1)]
    );
    let (ok, out, _) = logdrain(&app.db_url, &["spaces", "delete", "fir-space"]);
    assert!(ok && out.contains("Deleted space fir-space"));
}
