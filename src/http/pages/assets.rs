//! The pages' files, embedded in the binary (`web/`): HTML shells, CSS, the hand-written
//! scripts and uPlot's built file. Each is gzip-compressed once, on first use, and served
//! compressed to browsers that accept it, with an ETag so a reload costs a 304.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::sync::OnceLock;

/// One embedded file.
pub struct Asset {
    /// Its name under `/assets/` (HTML shells are not served there).
    pub name: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes, as committed under `web/`.
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $path:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)),
        }
    };
}

/// Every embedded file: the HTML shells (served by the page routes, not under `/assets/`)
/// and the assets.
pub static FILES: &[Asset] = &[
    asset!("signin.html", "signin.html", "text/html; charset=utf-8"),
    asset!(
        "signin-failed.html",
        "signin-failed.html",
        "text/html; charset=utf-8"
    ),
    asset!("apps.html", "apps.html", "text/html; charset=utf-8"),
    asset!("overview.html", "overview.html", "text/html; charset=utf-8"),
    asset!("logs.html", "logs.html", "text/html; charset=utf-8"),
    asset!(
        "forbidden.html",
        "forbidden.html",
        "text/html; charset=utf-8"
    ),
    asset!("notfound.html", "notfound.html", "text/html; charset=utf-8"),
    asset!("style.css", "style.css", "text/css; charset=utf-8"),
    asset!("common.js", "common.js", "text/javascript; charset=utf-8"),
    asset!("apps.js", "apps.js", "text/javascript; charset=utf-8"),
    asset!(
        "overview.js",
        "overview.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("charts.js", "charts.js", "text/javascript; charset=utf-8"),
    asset!("alerts.js", "alerts.js", "text/javascript; charset=utf-8"),
    asset!("logs.js", "logs.js", "text/javascript; charset=utf-8"),
    asset!("detail.js", "detail.js", "text/javascript; charset=utf-8"),
    asset!(
        "uPlot.iife.min.js",
        "vendor/uPlot.iife.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "uPlot.min.css",
        "vendor/uPlot.min.css",
        "text/css; charset=utf-8"
    ),
];

const HTML: &str = "text/html; charset=utf-8";

/// The sign-in page.
pub const SIGN_IN: &str = "signin.html";
/// The sign-in page again, saying the token was not accepted.
pub const SIGN_IN_FAILED: &str = "signin-failed.html";
/// The list of apps the session covers.
pub const APPS: &str = "apps.html";
/// `/apps/{app}`.
pub const OVERVIEW: &str = "overview.html";
/// `/apps/{app}/logs`.
pub const LOGS: &str = "logs.html";
/// 403: the session's token does not cover that app.
pub const FORBIDDEN: &str = "forbidden.html";
/// 404: no such app or page.
pub const NOT_FOUND: &str = "notfound.html";

/// The gzip'd bytes and ETag of a file.
struct Encoded {
    gzip: Vec<u8>,
    etag: HeaderValue,
}

/// `FILES[i]` encoded, computed for every file on first use.
fn encoded(i: usize) -> Option<&'static Encoded> {
    static ALL: OnceLock<Vec<Encoded>> = OnceLock::new();
    ALL.get_or_init(|| FILES.iter().map(|a| encode(a.bytes)).collect())
        .get(i)
}

fn encode(bytes: &[u8]) -> Encoded {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let gzip = gz
        .write_all(bytes)
        .and_then(|()| gz.finish())
        .unwrap_or_default();
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Encoded {
        gzip,
        etag: HeaderValue::from_str(&format!("\"{hex}\""))
            .unwrap_or(HeaderValue::from_static("\"0\"")),
    }
}

/// The response for file `name`: gzip'd when the request accepts it, 304 when the browser
/// holds this version of an asset, with `status` (an HTML shell may be a 403 or 404 page).
pub fn serve(name: &str, status: StatusCode, headers: &HeaderMap) -> Response {
    let Some((i, asset)) = FILES.iter().enumerate().find(|(_, a)| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(enc) = encoded(i) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let html = asset.content_type == HTML;
    if !html
        && headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == enc.etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, enc.etag.clone())]).into_response();
    }
    let gzip = accepts_gzip(headers) && !enc.gzip.is_empty();
    let body = if gzip {
        Body::from(enc.gzip.as_slice())
    } else {
        Body::from(asset.bytes)
    };
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if html {
        // The shells depend on the session: never reused from a cache.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        h.insert(header::ETAG, enc.etag.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    res
}

/// Whether `name` is served under `/assets/` (the HTML shells are not).
pub fn is_asset(name: &str) -> bool {
    FILES
        .iter()
        .any(|a| a.name == name && a.content_type != HTML)
}

/// Whether `Accept-Encoding` lists gzip (without `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn every_asset_compresses_and_has_an_etag() {
        for (i, a) in FILES.iter().enumerate() {
            let e = encoded(i).expect("encoded");
            assert!(!e.gzip.is_empty(), "{}", a.name);
            assert!(
                e.gzip.len() < a.bytes.len() || a.bytes.len() < 200,
                "{}",
                a.name
            );
            assert!(e.etag.to_str().expect("ascii").starts_with('"'));
        }
    }
}
