//! The pages' sign-in session: the cookie that carries it, the cross-site checks that guard
//! it, and how a session becomes the same [`Scope`] a bearer token gives the query API.
//!
//! The cookie holds only a random id (`HttpOnly`, `SameSite=Strict`, `Secure` under HTTPS);
//! the token signed in with is never stored in the browser nor in the database (its hash is,
//! so rotating it ends the session). Requests that change the session (sign-in, sign-out) and
//! API reads made with the cookie are refused when the browser says they come from another
//! site (`Sec-Fetch-Site`) or their `Origin` is not this host: no login CSRF, no forced
//! sign-out, and no other site reading the API with a visitor's cookie (docs/pages.md).

use super::query::Scope;
use super::AppState;
use crate::store::apps::{constant_time_eq, generate_token, hash_token};
use crate::store::sessions::SessionOwner;
use crate::store::StoreError;
use axum::http::{header, HeaderMap, HeaderValue};
use std::time::Duration;

/// The cookie's name.
pub const COOKIE: &str = "logdrain_session";

/// The session id in the request's `Cookie` header, if any.
pub fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Whether the browser made this request from this site (or it is not a browser request at
/// all): `Sec-Fetch-Site` when sent (every current browser), else `Origin` against `Host`.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (value("origin"), value("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

/// The scope of the request's session cookie: `None` without a live session, or when the
/// request comes from another site.
pub async fn scope(state: &AppState, headers: &HeaderMap) -> Result<Option<Scope>, StoreError> {
    let Some(id) = session_id(headers) else {
        return Ok(None);
    };
    if !same_origin(headers) {
        return Ok(None);
    }
    Ok(match state.store.session_owner(id).await? {
        Some(SessionOwner::App { id, name }) => Some(Scope::App { id, name }),
        // A server-token session lasts while LOGDRAIN_API_TOKEN is the token it was opened with.
        Some(SessionOwner::Server { token_hash }) => state
            .query
            .api_token
            .as_ref()
            .filter(|t| constant_time_eq(&hash_token(t.expose()), &token_hash))
            .map(|_| Scope::All),
        None => None,
    })
}

/// Opens a session for a token already checked to give `scope`; returns the new session id.
pub async fn open(
    state: &AppState,
    token: &str,
    scope: &Scope,
) -> Result<String, super::error::HttpError> {
    use super::error::{HttpError, Unavailable};
    let retry_after = state.limits.retry_after;
    let id = generate_token()
        .map_err(|e| HttpError::unavailable(Unavailable::Random(e), retry_after))?;
    let app_id = match scope {
        Scope::All => None,
        Scope::App { id, .. } => Some(*id),
    };
    state
        .store
        .open_session(&id, &hash_token(token), app_id, state.query.session_ttl)
        .await
        .map_err(|e| HttpError::unavailable(Unavailable::Session(e), retry_after))?;
    Ok(id)
}

/// `Set-Cookie` for a new session: `Secure` when the page was reached over HTTPS (served by
/// logdrain itself or by a proxy that says so in `X-Forwarded-Proto`, like Heroku's router).
pub fn set_cookie(id: &str, ttl: Duration, headers: &HeaderMap, state: &AppState) -> HeaderValue {
    let secure = if https(headers, state) {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{COOKIE}={id}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        ttl.as_secs()
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(headers: &HeaderMap, state: &AppState) -> HeaderValue {
    if https(headers, state) {
        HeaderValue::from_static(
            "logdrain_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure",
        )
    } else {
        HeaderValue::from_static("logdrain_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
    }
}

fn https(headers: &HeaderMap, state: &AppState) -> bool {
    state.query.https
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; logdrain_session=abc ; b=2")]);
        assert_eq!(session_id(&h), Some("abc"));
        assert_eq!(session_id(&headers(&[("cookie", "a=1")])), None);
        assert_eq!(
            session_id(&headers(&[("cookie", "logdrain_session=")])),
            None
        );
    }

    #[test]
    fn cross_site_requests_are_told_apart_from_same_origin_ones() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "none")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&headers(&[
            ("origin", "https://logs.example.com"),
            ("host", "logs.example.com")
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "logs.example.com")
        ])));
        assert!(!same_origin(&headers(&[("origin", "null"), ("host", "h")])));
        // curl and scripts send neither.
        assert!(same_origin(&HeaderMap::new()));
    }
}
