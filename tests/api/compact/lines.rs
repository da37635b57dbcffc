//! Generators of the compaction property test: random Logplex lines of every family (routers,
//! apps at every level, api and system events, runtime metrics, odd bytes and timestamps) and
//! random `/logs` query strings.

use super::DRAIN;
use crate::helpers::{basic, TestApp};
use chrono::{DateTime, Duration as Days, Utc};
use proptest::prelude::*;

pub const APPS: [&str; 2] = ["shop", "blog"];
const WORDS: [&str; 8] = [
    "payment", "checkout", "timeout", "Cache", "zebra", "résumé", "orders", "KELVIN",
];
const DYNOS: [&str; 4] = ["web.1", "web.2", "worker.1", "run.7"];

/// One generated line: (app, day back, microsecond of the day, template, word, dyno, n).
pub type Gen = (usize, i64, i64, u8, usize, usize, u32);

pub fn line_strategy() -> impl Strategy<Value = Gen> {
    (
        0..APPS.len(),
        0i64..4,
        0i64..86_400_000_000,
        0u8..12,
        0..WORDS.len(),
        0..DYNOS.len(),
        0u32..40,
    )
}

/// The syslog frame of a generated line: routers, apps at every level, api and system
/// events, runtime metrics, odd bytes and timestamps Heroku does not write.
fn frame(g: &Gen, day0: DateTime<Utc>) -> Vec<u8> {
    let (_, back, us, template, w, d, n) = *g;
    let ts = day0 - Days::days(back) + Days::microseconds(us);
    let stamp = ts.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
    let (word, dyno) = (WORDS[w], DYNOS[d]);
    let rid = format!("{n:08x}-4e26-4a8e-a032-35a1e58e1b1c");
    let head =
        |pri: u8, source: &str, proc_: &str| format!("<{pri}>1 {stamp} host {source} {proc_} - ");
    let mut m: Vec<u8> = match template {
        0 | 1 => format!(
            "{}at=info method=GET path=\"/api/{word}/{n}\" host=x.herokuapp.com request_id={rid} fwd=\"1.2.3.4\" dyno={dyno} connect=0ms service={}ms status={} bytes={} protocol=https",
            head(158, "heroku", "router"), n * 7, [200, 201, 404, 500][n as usize % 4], n * 100
        ).into_bytes(),
        2 => format!(
            "{}at=error code=H12 desc=\"Request timeout\" method=POST path=\"/{word}\" host=x.herokuapp.com request_id={rid} fwd=\"1.2.3.4\" dyno={dyno} connect=1ms service=30000ms status=503 bytes=0 protocol=https",
            head(158, "heroku", "router")
        ).into_bytes(),
        3 => format!("{}[{rid}] Started GET \"/{word}\" for 1.2.3.4", head(190, "app", dyno)).into_bytes(),
        4 => format!("{}level=error msg=\"{word} failed\" request_id={rid} n={n}", head(190, "app", dyno)).into_bytes(),
        5 => format!("{}WARN {word} slow: {n}ms", head(190, "app", dyno)).into_bytes(),
        6 => format!("{}Release v{n} created by ops@example.com: {word}", head(190, "app", "api")).into_bytes(),
        7 => format!("{}State changed from starting to up", head(45, "heroku", dyno)).into_bytes(),
        8 => format!(
            "{}source={dyno} dyno=heroku.1.abc sample#load_avg_1m=0.{n} sample#memory_total={n}.5MB sample#memory_rss={n}.1MB",
            head(190, "heroku", dyno)
        ).into_bytes(),
        9 => [head(190, "app", dyno).into_bytes(), b"\x1b[32m".to_vec(), word.as_bytes().to_vec(), b" \xff\x00 bad bytes \xe2\x84\xaa".to_vec()].concat(),
        10 => format!("<190>1 {} host app {dyno} - {word} with another clock {n}", ts.format("%Y-%m-%dT%H:%M:%S%.3fZ")).into_bytes(),
        _ => format!("{}Error R14 (Memory quota exceeded) {word}", head(190, "heroku", dyno)).into_bytes(),
    };
    m.push(b'\n');
    m
}

pub async fn post_all(app: &TestApp, lines: &[Gen], day0: DateTime<Utc>, tag: &str) {
    for (a, name) in APPS.iter().enumerate() {
        let mine: Vec<&Gen> = lines.iter().filter(|g| g.0 == a).collect();
        for (i, batch) in mine.chunks(40).enumerate() {
            let mut body = Vec::new();
            for g in batch {
                let f = frame(g, day0);
                body.extend_from_slice(format!("{} ", f.len()).as_bytes());
                body.extend_from_slice(&f);
            }
            let res = app
                .client
                .post(app.url("/logs"))
                .header("Authorization", basic(name, DRAIN))
                .header("Content-Type", "application/logplex-1")
                .header("Logplex-Msg-Count", batch.len().to_string())
                .header("Logplex-Frame-Id", format!("{tag}-{name}-{i}"))
                .body(body)
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), 204);
        }
    }
}

/// A random `/logs` query string (without `n` and cursor).
pub fn query_strategy(rids: Vec<String>, day0: DateTime<Utc>) -> impl Strategy<Value = String> {
    let rid = proptest::sample::select(rids);
    (
        proptest::option::of(proptest::sample::select(vec![
            "source=app",
            "source=heroku",
            "dyno=web.1",
            "type=web",
            "type=worker",
            "kind=router",
            "kind=app,api",
            "kind=system,runtime_metric",
            "level=warning",
            "level=error",
            "status=5xx",
            "status=200",
            "status=400-499",
            "code=H12",
            "code=R14",
            "path=/api",
        ])),
        proptest::option::of(prop_oneof![
            proptest::sample::select(WORDS.to_vec()).prop_map(str::to_owned),
            Just("ayment fa".to_owned()),
            Just("%22%2Fcheckout%22".to_owned()),
            Just("kb".to_owned()),
            Just("\u{212a}elvin".to_owned()),
            Just("nowhere-to-be-found".to_owned()),
        ]),
        proptest::option::of(rid),
        proptest::option::of((0i64..5, 0i64..5)),
        proptest::sample::select(vec!["json", "text", "ndjson"]),
        1i64..60,
    )
        .prop_map(move |(filter, q, rid, range, format, n)| {
            let mut parts = vec![format!("format={format}"), format!("n={n}")];
            parts.extend(filter.map(str::to_owned));
            parts.extend(q.map(|q| format!("q={}", q.replace(' ', "+"))));
            parts.extend(rid.map(|r| format!("request_id={r}")));
            if let Some((a, b)) = range {
                let since = day0 - Days::days(3) + Days::hours(a * 20);
                let until = since + Days::hours(b * 15 + 1);
                parts.push(
                    format!("since={}&until={}", since.to_rfc3339(), until.to_rfc3339())
                        .replace('+', "%2B"),
                );
            } else {
                parts.push("since=10d".to_owned());
            }
            parts.join("&")
        })
}
