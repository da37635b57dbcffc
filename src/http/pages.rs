//! The pages: sign-in at `/`, the app overview at `/apps/{app}`, the log viewer at
//! `/apps/{app}/logs`, and their embedded assets. The HTML is a static shell; its scripts read
//! every number from the query API with the session cookie (`http::session`). Every response
//! here carries a Content-Security-Policy that allows scripts, styles and connections from
//! this origin only: no inline script, nothing from another host (docs/pages.md).

mod assets;

use super::error::HttpError;
use super::query::Scope;
use super::{session, AppState};
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The pages' Content-Security-Policy: this origin only, no inline script or style element,
/// no framing, forms post only here.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the pages' security headers to every response of the page routes.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `GET /`: the apps the session covers, or the sign-in form.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session_scope(&state, &headers).await {
        Ok(Some(_)) => assets::serve(assets::APPS, StatusCode::OK, &headers),
        Ok(None) => assets::serve(assets::SIGN_IN, StatusCode::OK, &headers),
        Err(e) => e.into_response(),
    }
}

/// `POST /`: signs in with the form's `token` (the server's read token or an app's). A right
/// token opens a session and goes to the app (app token) or the list of apps; a wrong one
/// shows the form again with 401. Cross-site posts are refused (no login CSRF).
pub async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !session::same_origin(&headers) {
        return assets::serve(assets::FORBIDDEN, StatusCode::FORBIDDEN, &headers);
    }
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let scope = if token.is_empty() {
        None
    } else {
        match super::query::token_scope(&state, &token).await {
            Ok(scope) => scope,
            Err(e) => return unavailable(&state, e).into_response(),
        }
    };
    let Some(scope) = scope else {
        return assets::serve(assets::SIGN_IN_FAILED, StatusCode::UNAUTHORIZED, &headers);
    };
    let id = match session::open(&state, &token, &scope).await {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let to = match &scope {
        Scope::All => "/".to_owned(),
        Scope::App { name, .. } => format!("/apps/{name}"),
    };
    let mut res = redirect(&to);
    res.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&id, state.query.session_ttl, &headers, &state),
    );
    res
}

/// `POST /signout`: ends the session and clears the cookie. Cross-site posts are refused.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !session::same_origin(&headers) {
        return assets::serve(assets::FORBIDDEN, StatusCode::FORBIDDEN, &headers);
    }
    if let Some(id) = session::session_id(&headers) {
        if let Err(e) = state.store.close_session(id).await {
            return unavailable(&state, e).into_response();
        }
    }
    let mut res = redirect("/");
    res.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&headers, &state));
    res
}

/// `GET /apps/{app}`: the overview.
pub async fn overview(
    State(state): State<AppState>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    app_page(&state, &app, &headers, assets::OVERVIEW).await
}

/// `GET /apps/{app}/logs`: the log viewer.
pub async fn logs(
    State(state): State<AppState>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    app_page(&state, &app, &headers, assets::LOGS).await
}

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    if assets::is_asset(&name) {
        assets::serve(&name, StatusCode::OK, &headers)
    } else {
        assets::serve(assets::NOT_FOUND, StatusCode::NOT_FOUND, &headers)
    }
}

/// An app's page: to the sign-in form without a session, 403 for an app the session's token
/// does not cover, 404 for an app that does not exist.
async fn app_page(state: &AppState, app: &str, headers: &HeaderMap, page: &str) -> Response {
    let scope = match session_scope(state, headers).await {
        Ok(Some(scope)) => scope,
        Ok(None) => return redirect("/"),
        Err(e) => return e.into_response(),
    };
    let exists = match &scope {
        Scope::App { name, .. } if name == app => true,
        Scope::App { .. } => {
            return assets::serve(assets::FORBIDDEN, StatusCode::FORBIDDEN, headers)
        }
        Scope::All => match state.store.app_by_name(app).await {
            Ok(found) => found.is_some(),
            Err(e) => return unavailable(state, e).into_response(),
        },
    };
    if exists {
        assets::serve(page, StatusCode::OK, headers)
    } else {
        assets::serve(assets::NOT_FOUND, StatusCode::NOT_FOUND, headers)
    }
}

async fn session_scope(state: &AppState, headers: &HeaderMap) -> Result<Option<Scope>, HttpError> {
    session::scope(state, headers)
        .await
        .map_err(|e| unavailable(state, e))
}

fn unavailable(state: &AppState, e: crate::store::StoreError) -> HttpError {
    HttpError::unavailable(
        super::error::Unavailable::Session(e),
        state.limits.retry_after,
    )
}

/// 303 See Other to `to` (after a form post, the browser GETs it).
fn redirect(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}
