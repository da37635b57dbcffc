//! The pages over plain HTTP: the session cookie's attributes and life, cross-site refusals,
//! the Content-Security-Policy, embedded assets (gzip, ETag, page weight), and the query API
//! additions the pages read (`/lines/{id}`, `/stats/errors?bucket=`, `/stats/requests?status=`).

use crate::helpers::{app_line, post_lines, TestApp, QUICK_DRAIN};
use logdrain::record::AppName;
use logdrain::store::apps::TokenKind;
use reqwest::header::{HeaderMap, ACCEPT_ENCODING, CONTENT_ENCODING, COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;
use std::time::Duration;

const SERVER_TOKEN: &str = "server-read-token-0123456789abcdef";
/// The page weight budget: everything the overview loads, compressed.
const PAGE_BUDGET_BYTES: usize = 300 * 1024;

async fn spawn() -> TestApp {
    TestApp::spawn_with(&["--api-token", SERVER_TOKEN, "--drain-token", QUICK_DRAIN]).await
}

/// A client that shows redirects instead of following them.
fn browserish() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs in with `token` from this origin; returns the `name=value` of the session cookie and
/// the whole `Set-Cookie` header.
async fn sign_in(app: &TestApp, token: &str, extra: &[(&str, &str)]) -> (String, String) {
    let mut req = browserish()
        .post(app.url("/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(format!("token={token}"));
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("sign in");
    assert_eq!(res.status(), 303, "signed in and sent on");
    let location = res.headers()[LOCATION].to_str().expect("ascii").to_owned();
    assert!(!location.contains(token), "no token in the redirect");
    let set = res.headers()[SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    let pair = set.split(';').next().expect("pair").to_owned();
    (pair, set)
}

async fn get_with(app: &TestApp, path: &str, cookie: &str, site: &str) -> reqwest::Response {
    browserish()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .header("sec-fetch-site", site)
        .send()
        .await
        .expect("get")
}

#[tokio::test]
async fn a_sign_in_keeps_an_httponly_strict_cookie_that_reads_the_api_until_sign_out() {
    let app = spawn().await;
    let (cookie, set) = sign_in(&app, SERVER_TOKEN, &[]).await;
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    assert!(
        !set.contains(SERVER_TOKEN),
        "the cookie holds a session id, not the token"
    );

    assert_eq!(
        get_with(&app, "/api/apps", &cookie, "same-origin")
            .await
            .status(),
        200
    );
    // Another site's page cannot read the API with the visitor's cookie.
    assert_eq!(
        get_with(&app, "/api/apps", &cookie, "cross-site")
            .await
            .status(),
        401
    );
    let res = browserish()
        .get(app.url("/api/apps"))
        .header(COOKIE, &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 401);
    // The home page is now the list of apps.
    let home = get_with(&app, "/", &cookie, "same-origin")
        .await
        .text()
        .await
        .expect("text");
    assert!(home.contains("<title>Apps"), "{home}");

    let out = browserish()
        .post(app.url("/signout"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 303);
    assert!(out.headers()[SET_COOKIE]
        .to_str()
        .expect("ascii")
        .contains("Max-Age=0"));
    assert_eq!(
        get_with(&app, "/api/apps", &cookie, "same-origin")
            .await
            .status(),
        401
    );
    let page = get_with(&app, "/apps/anything", &cookie, "same-origin").await;
    assert_eq!(page.status(), 303, "signed out: back to the form");
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn cross_site_sign_in_and_sign_out_are_refused() {
    let app = spawn().await;
    for (k, v) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = browserish()
            .post(app.url("/"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(k, v)
            .body(format!("token={SERVER_TOKEN}"))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 403, "login CSRF refused ({k})");
        assert!(res.headers().get(SET_COOKIE).is_none());
    }
    let (cookie, _) = sign_in(&app, SERVER_TOKEN, &[]).await;
    let res = browserish()
        .post(app.url("/signout"))
        .header(COOKIE, &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 403, "forced sign-out refused");
    assert_eq!(
        get_with(&app, "/api/apps", &cookie, "same-origin")
            .await
            .status(),
        200
    );

    // A wrong token: the form again, 401, no cookie.
    let res = browserish()
        .post(app.url("/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=wrong-token-0123456789")
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 401);
    assert!(res.headers().get(SET_COOKIE).is_none());
    assert!(res.text().await.expect("text").contains("was not accepted"));
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn the_cookie_is_secure_behind_an_https_proxy() {
    let app = spawn().await;
    let (_, set) = sign_in(&app, SERVER_TOKEN, &[("x-forwarded-proto", "https")]).await;
    assert!(set.contains("; Secure"), "{set}");
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn an_app_token_session_covers_its_app_only_and_ends_when_the_token_is_rotated() {
    let app = spawn().await;
    let shop = app
        .store
        .create_app(&AppName::parse("shop").expect("name"))
        .await
        .expect("shop");
    app.store
        .create_app(&AppName::parse("other").expect("name"))
        .await
        .expect("other");
    let (cookie, _) = sign_in(&app, &shop.read_token, &[]).await;
    assert_eq!(
        get_with(&app, "/apps/shop", &cookie, "same-origin")
            .await
            .status(),
        200
    );
    assert_eq!(
        get_with(&app, "/apps/shop/logs", &cookie, "same-origin")
            .await
            .status(),
        200
    );
    assert_eq!(
        get_with(&app, "/apps/other", &cookie, "same-origin")
            .await
            .status(),
        403
    );
    assert_eq!(
        get_with(&app, "/apps/other/logs", &cookie, "same-origin")
            .await
            .status(),
        403
    );
    assert_eq!(
        get_with(&app, "/api/apps/other/logs", &cookie, "same-origin")
            .await
            .status(),
        403
    );
    let apps: Value = get_with(&app, "/api/apps", &cookie, "same-origin")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "{apps}");

    app.store
        .rotate_token(&AppName::parse("shop").expect("name"), TokenKind::Read)
        .await
        .expect("rotate");
    assert_eq!(
        get_with(&app, "/api/apps/shop/logs", &cookie, "same-origin")
            .await
            .status(),
        401,
        "the session ended with its token"
    );

    // The server token sees every app; an app that does not exist is a 404 page.
    let (cookie, _) = sign_in(&app, SERVER_TOKEN, &[]).await;
    assert_eq!(
        get_with(&app, "/apps/other", &cookie, "same-origin")
            .await
            .status(),
        200
    );
    assert_eq!(
        get_with(&app, "/apps/nope", &cookie, "same-origin")
            .await
            .status(),
        404
    );
    app.stop().await.expect("stop");
}

/// Whether the HTML has an event-handler attribute (` onclick=`, ` onerror=`, …).
fn has_event_attribute(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}

/// The values of every `name="…"` attribute.
fn attribute_values<'a>(html: &'a str, name: &str) -> impl Iterator<Item = &'a str> {
    let pat = format!(" {name}=\"");
    html.match_indices(&pat)
        .map(|(i, m)| &html[i + m.len()..])
        .filter_map(|rest| rest.split('"').next())
        .collect::<Vec<_>>()
        .into_iter()
}

/// Every `/assets/…` the HTML references.
fn asset_refs(html: &str) -> Vec<String> {
    html.split('"')
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn pages_forbid_inline_scripts_and_load_everything_from_this_origin_gzipped() {
    let app = spawn().await;
    app.store
        .create_app(&AppName::parse("shop").expect("name"))
        .await
        .expect("shop");
    let (cookie, _) = sign_in(&app, SERVER_TOKEN, &[]).await;
    let mut total = 0;
    for page in ["/", "/apps/shop", "/apps/shop/logs"] {
        let res = browserish()
            .get(app.url(page))
            .header(COOKIE, &cookie)
            .header(ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .expect("page");
        assert_eq!(res.status(), 200, "{page}");
        let h: HeaderMap = res.headers().clone();
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'self'") && csp.contains("default-src 'none'"));
        assert_eq!(h[CONTENT_ENCODING], "gzip");
        let gz = res.bytes().await.expect("body");
        let mut html = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut html)
            .expect("gunzip");
        // No inline script, no event-handler attribute, nothing from another host.
        assert!(!html.contains("<script>"), "{page}: inline script");
        assert!(!has_event_attribute(&html), "{page}: an on…= attribute");
        for link in attribute_values(&html, "src").chain(attribute_values(&html, "href")) {
            let local = link == "#" || (link.starts_with('/') && !link.starts_with("//"));
            assert!(local, "{page}: {link}");
        }
        let mut weight = gz.len();
        for asset in asset_refs(&html) {
            let res = browserish()
                .get(app.url(&asset))
                .header(ACCEPT_ENCODING, "gzip, deflate, br")
                .send()
                .await
                .expect("asset");
            assert_eq!(res.status(), 200, "{asset}");
            assert_eq!(res.headers()[CONTENT_ENCODING], "gzip", "{asset}");
            let etag = res.headers()["etag"].clone();
            weight += res.bytes().await.expect("body").len();
            let again = browserish()
                .get(app.url(&asset))
                .header("if-none-match", etag)
                .send()
                .await
                .expect("asset");
            assert_eq!(again.status(), 304, "{asset} revalidates");
        }
        eprintln!("page weight of {page}: {weight} bytes compressed");
        assert!(weight <= PAGE_BUDGET_BYTES, "{page}: {weight} bytes");
        total = total.max(weight);
    }
    assert!(total > 20_000, "uPlot is part of the overview's weight");
    let missing = browserish()
        .get(app.url("/assets/nope.js"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn the_api_gives_a_line_with_its_raw_bytes_and_neighbours_and_error_codes_per_bucket() {
    let app = spawn().await;
    let lines: Vec<String> = (0..5)
        .map(|i| app_line(Duration::from_secs(60 - i * 5), &format!("line {i}")))
        .chain([format!(
            "<158>1 {} host heroku router - at=error code=H12 desc=\"Request timeout\" method=GET path=\"/slow\" host=a.example request_id=r-1 fwd=\"1.2.3.4\" dyno=web.1 connect=1ms service=30000ms status=503 bytes=0",
            (chrono::Utc::now() - chrono::Duration::seconds(30))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )])
        .collect();
    post_lines(&app, "shop", &lines).await;
    post_lines(
        &app,
        "other",
        &[app_line(Duration::from_secs(10), "elsewhere")],
    )
    .await;
    let auth = format!("Bearer {SERVER_TOKEN}");
    let get = |path: String| {
        let req = app
            .client
            .get(app.url(&path))
            .header("authorization", auth.clone());
        async move { req.send().await.expect("get") }
    };
    let page: Value = get("/api/apps/shop/logs?format=json&q=line".into())
        .await
        .json()
        .await
        .expect("json");
    let third = &page["lines"][2];
    assert_eq!(third["message"], "line 2");
    let id = third["id"].as_str().expect("id");
    let ctx: Value = get(format!("/api/apps/shop/lines/{id}?around=1"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ctx["line"]["message"], "line 2");
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        ctx["line"]["raw_base64"].as_str().expect("raw"),
    )
    .expect("base64");
    assert!(raw.starts_with(b"<190>1 ") && raw.ends_with(b"web.1 - line 2"));
    assert_eq!(ctx["before"][0]["message"], "line 1");
    assert_eq!(ctx["after"][0]["message"], "line 3");
    assert_eq!(ctx["before"].as_array().map(Vec::len), Some(1));
    // Another app's line id is not found through this app.
    assert_eq!(
        get(format!("/api/apps/other/lines/{id}")).await.status(),
        404
    );
    assert_eq!(get("/api/apps/shop/lines/x1".into()).await.status(), 400);
    assert_eq!(
        get(format!("/api/apps/shop/lines/{id}?around=1000"))
            .await
            .status(),
        400
    );

    let errors: Value = get("/api/apps/shop/stats/errors?bucket=60s".into())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(errors["codes"][0]["code"], "H12");
    assert_eq!(errors["bucket"], "60s");
    assert_eq!(errors["series"][0]["code"], "H12");
    assert_eq!(errors["series"][0]["count"], 1);
    let plain: Value = get("/api/apps/shop/stats/errors".into())
        .await
        .json()
        .await
        .expect("json");
    assert!(
        plain.get("series").is_none(),
        "without bucket, the answer is as before"
    );

    let by_status = |s: &str| {
        get(format!(
            "/api/apps/shop/stats/requests?by=status&status={s}"
        ))
    };
    let fives: Value = by_status("5xx").await.json().await.expect("json");
    assert_eq!(fives["groups"][0]["key"], "503");
    let twos: Value = by_status("200-299").await.json().await.expect("json");
    assert_eq!(twos["groups"].as_array().map(Vec::len), Some(0));
    assert_eq!(by_status("abc").await.status(), 400);
    app.stop().await.expect("stop");
}
