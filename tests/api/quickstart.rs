//! The README's quick start, run as written against the real `logdrain serve` binary, and the
//! quick-start mode's first use of a new app by many connections at once.

use crate::helpers::{basic, free_port, fresh_database_on_admin, wait_ready, TestApp};
use std::process::{Command, Stdio};

/// The `sh` code blocks of the README's "Quick start" section, in order.
fn quick_start_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## Quick start")
        .expect("a Quick start section");
    let section = &readme[start + 3..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let close = body.find("```").expect("closed code block");
        blocks.push(body[..close].to_owned());
        rest = &body[close + 3..];
    }
    blocks
}

/// `A=1 B=2 cargo run --release -- serve` → the environment it sets.
fn leading_env(command: &str) -> Vec<(String, String)> {
    command
        .split_whitespace()
        .map_while(|word| word.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::test]
async fn the_readme_quick_start_stores_a_line_and_reads_it_back_with_curl_and_the_cli() {
    let blocks = quick_start_blocks();
    let serve = blocks
        .iter()
        .find(|b| b.contains("-- serve"))
        .expect("a serve command");
    let script = blocks
        .iter()
        .find(|b| b.contains("/logs"))
        .expect("the commands that send and read back");
    assert!(
        serve.trim().ends_with("cargo run --release -- serve"),
        "{serve}"
    );
    let env = leading_env(serve.trim());
    assert!(
        env.iter().any(|(k, _)| k == "LOGDRAIN_DRAIN_TOKEN"),
        "{serve}"
    );

    // The server exactly as the README starts it, but on a free port and a test database.
    let db_url = fresh_database_on_admin().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_logdrain"))
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("DATABASE_URL", &db_url)
        .env("LOGDRAIN_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn logdrain serve");
    let client = logdrain::client::http_client();
    wait_ready(&client, &base).await;

    // The second terminal: the same lines, with this server's address and the built binary.
    let script_here = script
        .replace("http://127.0.0.1:8080", &base)
        .replace("cargo run --release --", env!("CARGO_BIN_EXE_logdrain"));
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script_here])
            .env("LOGDRAIN_URL", &base)
            .env_remove("LOGDRAIN_TOKEN")
            .output()
            .expect("bash")
    })
    .await
    .expect("script");
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // Every `# …` line of the block is output the commands above it print.
    let expected: Vec<&str> = script
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .collect();
    assert!(expected.len() >= 3, "{script}");
    let mut seen = stdout.as_str();
    for want in expected {
        let at = seen
            .find(want)
            .unwrap_or_else(|| panic!("{want:?} not printed in order:\n{stdout}\n{stderr}"));
        seen = &seen[at + want.len()..];
    }
}

/// Eight concurrent first POSTs for `name`; panics unless all are 204 and all 8 lines stored.
async fn eight_first_posts(app: &TestApp, name: &str, token: &str) {
    let auth = basic(name, token);
    let posts = (0..8).map(|i| {
        let msg = format!("<190>1 2026-11-01T10:00:00.000000+00:00 host app web.{i} - first {i}");
        app.client
            .post(app.url("/logs"))
            .header("Authorization", &auth)
            .header("Content-Type", "application/logplex-1")
            .header("Logplex-Frame-Id", format!("{name}-{i}"))
            .body(format!("{} {msg}", msg.len()))
            .send()
    });
    for res in futures_util::future::join_all(posts).await {
        assert_eq!(res.expect("post").status(), 204, "{name}");
    }
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM lines JOIN apps ON apps.id = lines.app_id WHERE apps.name = $1",
    )
    .bind(name)
    .fetch_one(app.store.pool())
    .await
    .expect("count");
    assert_eq!(stored, 8, "{name}");
}

#[tokio::test]
async fn eight_concurrent_first_posts_for_a_new_app_in_quick_start_mode_are_all_204() {
    let token = "quick-start-token-0123";
    let app = TestApp::spawn_with(&["--drain-token", token]).await;
    eight_first_posts(&app, "brand-new", token).await;

    // The same while another server process's first request for the app is mid-transaction:
    // every insert here waits for that one and must then find the app it created.
    let name = "brand-new-elsewhere";
    let mut other = app.store.pool().begin().await.expect("begin");
    sqlx::query("INSERT INTO apps (name) VALUES ($1)")
        .bind(name)
        .execute(&mut *other)
        .await
        .expect("insert");
    let posts = eight_first_posts(&app, name, token);
    let commit_once_blocked = async {
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(app.store.pool())
            .await
            .expect("pg_stat_activity");
            if waiting > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        other.commit().await.expect("commit");
    };
    tokio::join!(posts, commit_once_blocked);
    app.stop().await.expect("clean stop");
}
