//! The one place that picks status codes: every error the HTTP layer can return, and how it
//! is answered. 5xx bodies say nothing internal; the cause is logged once, here.

use crate::otlp::response::{self, code};
use crate::otlp::Encoding;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Missing or wrong drain credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// The body (or its gzip decoding) is larger than the configured limit.
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A request that cannot be understood regardless of what its lines hold.
    #[error("{0}")]
    BadRequest(String),
    /// A `Content-Type` the endpoint does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Try again later: the queue is full, Postgres is unreachable, or the server is stopping.
    #[error("unavailable: {reason}")]
    Unavailable {
        /// Logged, never sent.
        reason: String,
        /// Sent as Retry-After.
        retry_after: Duration,
    },
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        match self {
            HttpError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"logdrain\""),
                )],
                "unauthorized\n",
            )
                .into_response(),
            HttpError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {limit} bytes (LOGDRAIN_MAX_BODY)\n"),
            )
                .into_response(),
            HttpError::BadRequest(msg) => {
                (StatusCode::BAD_REQUEST, format!("{msg}\n")).into_response()
            }
            HttpError::UnsupportedMediaType(msg) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("{msg}\n")).into_response()
            }
            HttpError::Unavailable {
                reason,
                retry_after,
            } => {
                tracing::warn!(%reason, "answering 503");
                let secs = retry_after.as_secs().max(1);
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, HeaderValue::from(secs))],
                    "temporarily unavailable, retry\n",
                )
                    .into_response()
            }
        }
    }
}

/// An error of the OTLP endpoint: the same statuses, with the body OTLP/HTTP prescribes (a
/// `google.rpc.Status` in the request's encoding; JSON when the request named none we read).
#[derive(Debug)]
pub struct OtlpError {
    /// What went wrong.
    pub error: HttpError,
    /// The encoding of the request.
    pub encoding: Encoding,
}

impl IntoResponse for OtlpError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self.error {
            HttpError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                code::UNAUTHENTICATED,
                "missing or wrong credential: Authorization: Basic base64(APP:TOKEN) or Bearer TOKEN"
                    .to_owned(),
            ),
            HttpError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                code::RESOURCE_EXHAUSTED,
                format!("request body larger than {limit} bytes (LOGDRAIN_MAX_BODY)"),
            ),
            HttpError::BadRequest(msg) => {
                (StatusCode::BAD_REQUEST, code::INVALID_ARGUMENT, msg.clone())
            }
            HttpError::UnsupportedMediaType(msg) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::INVALID_ARGUMENT,
                msg.clone(),
            ),
            HttpError::Unavailable { reason, .. } => {
                tracing::warn!(%reason, "answering 503");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::UNAVAILABLE,
                    "temporarily unavailable, retry".to_owned(),
                )
            }
        };
        let body = response::status(self.encoding, code, &message);
        let mut res = (
            status,
            [(header::CONTENT_TYPE, self.encoding.content_type())],
            body,
        )
            .into_response();
        match self.error {
            HttpError::Unauthorized => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"logdrain\", Bearer realm=\"logdrain\""),
                );
            }
            HttpError::Unavailable { retry_after, .. } => {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs().max(1)),
                );
            }
            _ => {}
        }
        res
    }
}
