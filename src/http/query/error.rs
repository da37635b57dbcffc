//! The query API's errors and how each is answered: `{"error": {"code", "message"}}` with the
//! status API.md gives it. Database failures are logged here, once, and not shown.

use crate::query::params::ParamError;
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Errors of the query API, answered as `{"error": {"code", "message"}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 naming the parameter.
    #[error(transparent)]
    BadParam(#[from] ParamError),
    /// 401.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// 403.
    #[error("this token does not cover app {0}")]
    Forbidden(String),
    /// 404.
    #[error("no app named {0}")]
    NotFound(String),
    /// 400 naming the key of an alert rule's JSON body.
    #[error(transparent)]
    BadRule(#[from] crate::alerts::RuleError),
    /// 403: a read token or a page session tried to change alert rules.
    #[error(
        "only the server token (LOGDRAIN_API_TOKEN), sent as a bearer token, changes alert rules"
    )]
    ReadOnly,
    /// 404: no alert rule of that name for the app.
    #[error("no alert rule named {0}")]
    NoRule(String),
    /// 409: a rule of that name exists already.
    #[error("an alert rule named {0} exists already")]
    RuleExists(String),
    /// 409: the rule is defined in the config file, which is applied at every start.
    #[error("alert rule {0} is defined in the config file: change it there")]
    RuleFromConfig(String),
    /// 503: the system's random source failed (a new token could not be made).
    #[error("no random token could be made; try again")]
    NoRandom,
    /// 404: the app has no line with this id.
    #[error("no line with id {0}")]
    NoLine(i64),
    /// 503: the database failed (logged, not shown), or a read ran past
    /// `LOGDRAIN_QUERY_TIMEOUT` (`query_timeout`, with advice).
    #[error("database unavailable")]
    Store(#[from] StoreError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            ApiError::BadParam(_) => (StatusCode::BAD_REQUEST, "bad_param", self.to_string()),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", self.to_string()),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", self.to_string()),
            ApiError::NotFound(_) | ApiError::NoRule(_) | ApiError::NoLine(_) => {
                (StatusCode::NOT_FOUND, "not_found", self.to_string())
            }
            ApiError::BadRule(_) => (StatusCode::BAD_REQUEST, "bad_param", self.to_string()),
            ApiError::ReadOnly => (StatusCode::FORBIDDEN, "forbidden", self.to_string()),
            ApiError::RuleExists(_) | ApiError::RuleFromConfig(_) => {
                (StatusCode::CONFLICT, "conflict", self.to_string())
            }
            ApiError::NoRandom => {
                tracing::warn!("query API: getrandom failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    self.to_string(),
                )
            }
            // The caller's query was too broad: say so, and how to narrow it.
            ApiError::Store(e @ StoreError::QueryTimeout(_)) => {
                tracing::info!(error = %e, "query API: read stopped by its timeout");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "query_timeout",
                    format!("{e}; narrow it with since/until or more filters"),
                )
            }
            ApiError::Store(e) => {
                tracing::warn!(error = %e, "query API: database error");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    self.to_string(),
                )
            }
        };
        let body = json!({"error": {"code": code, "message": message}});
        let mut res = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"logdrain\""),
            );
        }
        res
    }
}
