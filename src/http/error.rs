//! The one place that picks status codes: every error the HTTP layer can return, and how it
//! is answered. 5xx bodies say nothing internal; the cause is logged once, here.

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
    /// A body within LOGDRAIN_MAX_BODY that holds more than can be stored at once (more lines
    /// than LOGDRAIN_MAX_LINES, or more encoded bytes than one app's share of the write queue):
    /// refused before any waiting, because no retry could ever fit it.
    #[error("{0}")]
    TooLargeToStore(String),
    /// A request that cannot be understood regardless of what its lines hold.
    #[error("{0}")]
    BadRequest(String),
    /// Try again later: the queue is full, Postgres is unreachable, or the server is stopping.
    #[error("unavailable: {reason}")]
    Unavailable {
        /// Logged, never sent.
        reason: String,
        /// Sent as Retry-After.
        retry_after: Duration,
    },
}

impl HttpError {
    /// How a refusal or failure of the write queue is answered: 413 for a request that can
    /// never fit, 503 + Retry-After for everything a retry can cure.
    pub fn from_ingest(e: crate::ingest::IngestError, retry_after: Duration) -> HttpError {
        match e {
            crate::ingest::IngestError::TooLarge { cost, share } => {
                HttpError::TooLargeToStore(format!(
                    "request lines need {cost} bytes of the write queue, more than one app's \
                     share of {share} (LOGDRAIN_APP_QUEUE_SHARE)"
                ))
            }
            other => HttpError::Unavailable {
                reason: other.to_string(),
                retry_after,
            },
        }
    }
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
            HttpError::TooLargeToStore(msg) => {
                (StatusCode::PAYLOAD_TOO_LARGE, format!("{msg}\n")).into_response()
            }
            HttpError::BadRequest(msg) => {
                (StatusCode::BAD_REQUEST, format!("{msg}\n")).into_response()
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
