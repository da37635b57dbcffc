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
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", self.to_string()),
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
