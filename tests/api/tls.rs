//! HTTPS served in-process: a certificate generated here, a drain POST over TLS 1.3 and 1.2,
//! and a certificate reload on SIGHUP that new connections see while an open one keeps going.

use crate::helpers::{basic, sample_posts, TestApp};
use std::path::Path;
use std::time::Duration;

const DRAIN: &str = "s3cr3t-t0ken";

fn write_cert(dir: &Path) -> String {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("self-signed certificate");
    let pem = cert.cert.pem();
    std::fs::write(dir.join("cert.pem"), &pem).expect("write cert");
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).expect("write key");
    pem
}

fn client(root_pem: &str, tls12_only: bool) -> reqwest::Client {
    logdrain::client::install_crypto();
    let mut b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(root_pem.as_bytes()).expect("pem"))
        .tls_built_in_root_certs(false)
        .pool_idle_timeout(Duration::from_secs(600));
    if tls12_only {
        b = b.max_tls_version(reqwest::tls::Version::TLS_1_2);
    }
    b.build().expect("client")
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(url)
        .header("Authorization", basic("heroku", DRAIN))
        .header("Content-Type", "application/logplex-1")
        .body(body)
        .send()
        .await
}

#[tokio::test]
async fn drains_post_over_https_and_the_certificate_reloads_on_sighup() {
    let dir = std::env::temp_dir().join(format!("logdrain-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let first_pem = write_cert(&dir);
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let app = TestApp::spawn_with(&[
        "--tls-cert",
        cert.to_str().expect("path"),
        "--tls-key",
        key.to_str().expect("path"),
    ])
    .await;
    app.app_with_token("heroku", DRAIN).await;
    let url = format!("https://127.0.0.1:{}/logs", app.addr.port());

    // TLS 1.3 (the default) with a sample POST exactly as Logplex sends it.
    let tls13 = client(&first_pem, false);
    let post01 = sample_posts().into_iter().next().expect("a sample");
    let res = post(&tls13, &url, post01.body.clone())
        .await
        .expect("https post");
    assert_eq!(res.status(), 204);
    assert_eq!(app.line_count().await as usize, post01.expected_count);

    // TLS 1.2 works too.
    let tls12 = client(&first_pem, true);
    let line = b"<190>1 2026-11-01T10:00:00.000001+00:00 host app web.1 - over tls 1.2\n";
    let mut body = format!("{} ", line.len()).into_bytes();
    body.extend_from_slice(line);
    assert_eq!(
        post(&tls12, &url, body.clone())
            .await
            .expect("tls12")
            .status(),
        204
    );

    // Plain HTTP on the TLS port is refused, not served.
    let plain = reqwest::Client::new();
    assert!(plain
        .get(format!("http://127.0.0.1:{}/healthz", app.addr.port()))
        .send()
        .await
        .map(|r| r.status().is_success())
        .is_err_or_false());

    // A new certificate, then SIGHUP: new connections need the new root; the open keep-alive
    // connection of `tls13` keeps working.
    let second_pem = write_cert(&dir);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        post(&tls13, &url, body.clone())
            .await
            .expect("open connection")
            .status(),
        204
    );
    assert!(
        post(&client(&first_pem, false), &url, body.clone())
            .await
            .is_err(),
        "old root no longer valid"
    );
    let fresh = client(&second_pem, false);
    assert_eq!(
        post(&fresh, &url, body)
            .await
            .expect("new certificate")
            .status(),
        204
    );

    app.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}

trait ErrOrFalse {
    fn is_err_or_false(&self) -> bool;
}

impl ErrOrFalse for Result<bool, reqwest::Error> {
    fn is_err_or_false(&self) -> bool {
        !matches!(self, Ok(true))
    }
}
