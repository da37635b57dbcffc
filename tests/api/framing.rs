//! Bodies framed the way other drain receivers' fixtures frame them: a last frame whose count
//! runs past the end of the body is stored as the message that is there and counted in `/loss`
//! (`tests/golden/lenient_end.jsonl`, hand-reviewed).

use crate::helpers::{basic, TestApp};
use serde_json::Value;

const TOKEN: &str = "lenient-end-token-0123";
const READ: &str = "lenient-end-read-0123";

#[tokio::test]
async fn a_last_frame_whose_count_overruns_the_body_reads_back_as_reviewed_and_is_counted() {
    let app = TestApp::spawn_with(&["--drain-token", TOKEN, "--api-token", READ]).await;
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/lenient_end.jsonl"
    ))
    .expect("golden file");
    let before = chrono::Utc::now();
    let mut cases = 0;
    for (i, line) in golden.lines().enumerate() {
        let case: Value = serde_json::from_str(line).expect("json");
        let name = case["name"].as_str().expect("name");
        // One app per case, so each reads back alone.
        let app_name = format!("lenient-{i}");
        let res = app
            .client
            .post(app.url("/logs"))
            .header("Authorization", basic(&app_name, TOKEN))
            .header("Content-Type", "application/logplex-1")
            .header("Logplex-Frame-Id", format!("frame-{i}"))
            .body(case["body"].as_str().expect("body").to_owned())
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 204, "{name}");

        let read = |path: String| app.client.get(app.url(&path)).bearer_auth(READ).send();
        let page: Value = read(format!("/api/apps/{app_name}/logs?format=json&n=100"))
            .await
            .expect("logs")
            .json()
            .await
            .expect("json");
        let lines = page["lines"].as_array().expect("lines");
        let want = case["lines"].as_array().expect("golden lines");
        assert_eq!(lines.len(), want.len(), "{name}: {page}");
        // Stored lines come back newest first by ts; compare as sets keyed by message.
        for want in want {
            let got = lines
                .iter()
                .find(|l| l["message"] == want["message"])
                .unwrap_or_else(|| panic!("{name}: {want} not read back in {page}"));
            for key in ["source", "dyno", "kind", "level", "fields"] {
                assert_eq!(got[key], want[key], "{name}: {key}");
            }
            match want["ts"].as_str().expect("ts") {
                "received" => {
                    let ts = chrono::DateTime::parse_from_rfc3339(got["ts"].as_str().expect("ts"))
                        .expect("rfc3339");
                    assert!(ts >= before, "{name}: a raw line carries the receive time");
                }
                ts => assert_eq!(got["ts"], ts, "{name}"),
            }
        }
        let loss: Value = read(format!("/api/apps/{app_name}/loss"))
            .await
            .expect("loss")
            .json()
            .await
            .expect("json");
        assert_eq!(
            loss["frame_length_mismatches"], case["frame_length_mismatches"],
            "{name}: {loss}"
        );
        cases += 1;
    }
    assert!(cases >= 6);
    app.stop().await.expect("clean stop");
}
