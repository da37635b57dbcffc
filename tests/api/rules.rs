//! Ingest rules end to end: lines with secrets, health checks and debug chatter POSTed as
//! Logplex sends them to a server configured with a `[rules]` table; then the database is
//! searched, column by column, for every secret, and the counts read back from /loss and
//! /metrics.

use crate::helpers::{basic, TestApp};
use serde_json::Value;

const DRAIN: &str = "s3cr3t-t0ken";
const API: &str = "api-token-0123456789abcdef";
const APP: &str = "shop";

const RULES: &str = r#"
[rules.redact]
emails = true

[[rules.redact.patterns]]
name = "account numbers"
regex = 'acct=(?P<secret>\d+)'

[[rules.drop]]
name = "health checks"
kind = ["router"]
path = "/health"
status = "200"

[[rules.sample]]
name = "debug chatter"
level = "debug"
keep_one_in = 10
"#;

const TS: &str = "2026-11-21T10:00:00.000000+00:00";
const REQUEST_ID: &str = "8d9e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a";

fn router(path: &str, status: u16) -> String {
    format!(
        "<158>1 {TS} host heroku router - at=info method=GET path=\"{path}\" \
         host=shop.herokuapp.com request_id={REQUEST_ID} fwd=\"203.0.113.7\" dyno=web.1 \
         connect=1ms service=12ms status={status} bytes=512 protocol=https\n"
    )
}

fn app_line(text: &str) -> String {
    format!("<190>1 {TS} host app web.1 - {text}\n")
}

/// Every secret the lines below carry, and the line carrying it.
fn secrets() -> Vec<(&'static str, String)> {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    vec![
        (
            "ya29.a0AfSECRET1",
            router("/oauth/callback?code=abc&access_token=ya29.a0AfSECRET1&state=x", 302),
        ),
        (
            "hunter2SECRET2",
            app_line(r#"{"level":"info","msg":"login","user":"bob","password":"hunter2SECRET2"}"#),
        ),
        ("SECRET3pass", app_line("at=info user=bob password=SECRET3pass")),
        (
            "SECRET4abcdef123456",
            app_line("outgoing call Authorization: Bearer SECRET4abcdef123456"),
        ),
        ("4111 1111 1111 1111", app_line("charged card 4111 1111 1111 1111 for $20")),
        ("AKIAIOSFODNN7EXAMPLE", app_line("uploading with key AKIAIOSFODNN7EXAMPLE")),
        (jwt, app_line(&format!("session {jwt} issued"))),
        (
            "keymaterialSECRET5",
            app_line("-----BEGIN RSA PRIVATE KEY-----MIIEkeymaterialSECRET5-----END RSA PRIVATE KEY-----"),
        ),
        ("jane.doe", app_line("welcome mail sent to jane.doe@example.com")),
        ("99887766", app_line("billing acct=99887766 charged")),
    ]
}

/// A line that must come back exactly as sent.
fn clean_line() -> String {
    app_line(&format!(
        "Completed 200 OK in 12ms request_id={REQUEST_ID} order=1234567890123456 at 2026-11-21T10:00:00Z"
    ))
}

async fn post(app: &TestApp, lines: &[String], frame_id: &str) {
    let mut body = Vec::new();
    for l in lines {
        body.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
    }
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic(APP, DRAIN))
        .header("Content-Type", "application/logplex-1")
        .header("Logplex-Msg-Count", lines.len().to_string())
        .header("Logplex-Frame-Id", frame_id)
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204);
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(API)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.expect("json")
}

/// How many rows of any table hold `needle` in any text, jsonb or bytea column.
async fn occurrences(app: &TestApp, needle: &str) -> Vec<String> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.data_type IN ('text', 'jsonb', 'bytea', 'character varying', 'ARRAY')",
    )
    .fetch_all(app.store.pool())
    .await
    .expect("columns");
    assert!(columns.iter().any(|(t, c, _)| t == "lines" && c == "raw"));
    let mut found = Vec::new();
    for (table, column, ty) in columns {
        let test = match ty.as_str() {
            "bytea" => format!("position(convert_to($1, 'UTF8') in \"{column}\") > 0"),
            _ => format!("strpos(\"{column}\"::text, $1) > 0"),
        };
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{table}\" WHERE {test}"))
            .bind(needle)
            .fetch_one(app.store.pool())
            .await
            .expect("search");
        if n > 0 {
            found.push(format!("{table}.{column} ({n})"));
        }
    }
    found
}

#[tokio::test]
async fn secrets_are_redacted_before_storage_and_drops_and_samples_are_counted() {
    let app = TestApp::spawn_with_rules(&["--api-token", API], RULES).await;
    app.app_with_token(APP, DRAIN).await;

    let mut lines: Vec<String> = secrets().into_iter().map(|(_, l)| l).collect();
    lines.push(clean_line());
    post(&app, &lines, "frame-secrets").await;
    // A retry of the same frame is answered from the ledger and counts nothing twice.
    post(&app, &lines, "frame-secrets").await;
    post(&app, &vec![router("/health", 200); 5], "frame-health").await;
    post(&app, &[router("/health", 503)], "frame-health-503").await;
    let debug: Vec<String> = (0..20)
        .map(|i| app_line(&format!("DEBUG cache miss {i}")))
        .collect();
    post(&app, &debug, "frame-debug").await;

    // No secret is anywhere in the database, in any column of any table.
    for (secret, line) in secrets() {
        let found = occurrences(&app, secret).await;
        assert!(
            found.is_empty(),
            "{secret:?} (from {line:?}) found in {found:?}"
        );
    }
    assert!(!occurrences(&app, "[REDACTED]").await.is_empty());

    let page = get_json(
        &app,
        &format!("/api/apps/{APP}/logs?format=json&n=1000&since=2026-11-01T00:00:00Z"),
    )
    .await;
    let stored = page["lines"].as_array().expect("lines").clone();
    let find = |needle: &str| {
        stored
            .iter()
            .find(|l| l["message"].as_str().is_some_and(|m| m.contains(needle)))
            .unwrap_or_else(|| panic!("no line with {needle:?}"))
            .clone()
    };
    // The rest of each line is unchanged and still parses as what it was.
    let oauth = find("/oauth/callback");
    assert_eq!(oauth["kind"], "router");
    assert_eq!(
        oauth["fields"]["path"],
        "/oauth/callback?code=abc&access_token=[REDACTED]&state=x"
    );
    assert_eq!(oauth["fields"]["status"], 302);
    assert_eq!(oauth["fields"]["request_id"], REQUEST_ID);
    let login = find("\"login\"");
    assert_eq!(login["fields"]["user"], "bob");
    assert_eq!(login["fields"]["password"], "[REDACTED]");
    assert_eq!(find("acct=")["message"], "billing acct=[REDACTED] charged");
    assert_eq!(
        find("welcome mail")["message"],
        "welcome mail sent to [REDACTED]@example.com"
    );
    // A line without secrets (a UUID, a long number, a timestamp) is stored exactly.
    let clean = find("Completed 200 OK");
    assert_eq!(
        format!("{}\n", clean["message"].as_str().expect("message")),
        clean_line().split_once(" - ").expect("msg").1
    );
    let raw: Vec<u8> =
        sqlx::query_scalar("SELECT raw FROM all_lines WHERE message LIKE 'Completed 200 OK%'")
            .fetch_one(app.store.pool())
            .await
            .expect("raw");
    assert_eq!(raw, clean_line().into_bytes());

    // Health checks that succeeded are dropped, the failing one is kept; debug chatter keeps 1 in 10.
    let health: Vec<&Value> = stored
        .iter()
        .filter(|l| l["fields"]["path"] == "/health")
        .collect();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0]["fields"]["status"], 503);
    assert_eq!(
        stored
            .iter()
            .filter(|l| l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("DEBUG")))
            .count(),
        2
    );

    // Never silent: /loss and /metrics count per app and rule.
    let loss = get_json(&app, &format!("/api/apps/{APP}/loss?since=1h")).await;
    let rules = loss["rules"].as_array().expect("rules");
    let count = |rule: &str, action: &str| {
        rules
            .iter()
            .find(|r| r["rule"] == rule && r["action"] == action)
            .map_or(0, |r| r["count"].as_i64().expect("count"))
    };
    assert_eq!(count("health checks", "dropped"), 5, "{loss}");
    assert_eq!(count("debug chatter", "sampled_out"), 18, "{loss}");
    assert_eq!(count("account numbers", "redacted"), 1, "{loss}");
    assert_eq!(count("card_numbers", "redacted"), 1, "{loss}");
    assert_eq!(count("emails", "redacted"), 1, "{loss}");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("logdrain_rule_events_total{")
                && l.contains("rule=\"health checks\",action=\"dropped\"")
                && l.ends_with(" 5")),
        "{metrics}"
    );
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn an_invalid_rule_stops_start_up_naming_the_rule_and_the_reason() {
    let dir = std::env::temp_dir().join(format!("logdrain-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (toml, expected) in [
        (
            "[[rules.drop]]\nname = \"health\"\nstatus = \"2x\"\n",
            "health",
        ),
        (
            "[[rules.redact.patterns]]\nname = \"ids\"\nregex = \"acct=(\"\n",
            "ids",
        ),
        (
            "[[rules.sample]]\nname = \"noise\"\nlevel = \"debug\"\nkeep_one_in = 0\n",
            "noise",
        ),
        ("[rules]\nunknown = 1\n", "unknown"),
    ] {
        let file = dir.join("bad.toml");
        std::fs::write(&file, toml).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_logdrain"))
            .args(["--config"])
            .arg(&file)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env_remove("LOGDRAIN_DRAIN_TOKEN")
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{toml}");
        assert!(err.contains(expected), "{toml} → {err}");
        assert!(err.contains("config file"), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
