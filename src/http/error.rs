//! The one place that picks status codes, for the drain and the query API alike: every error a
//! handler can return, and how it is answered. Handlers return [`HttpError`] and use `?`;
//! `From` conversions bring the lower layers' errors here typed, and they are turned into
//! text only when logged. 5xx bodies say nothing internal; the cause is logged once, here.
//!
//! | error | status | body |
//! |---|---|---|
//! | drain credentials missing or wrong | 401 + `WWW-Authenticate: Basic` | text |
//! | body over `LOGDRAIN_MAX_BODY` (also after gzip) | 413 | text |
//! | unsupported or broken `Content-Encoding` | 400 | text |
//! | OTLP: the same, plus 400 undecodable payload, 415 unsupported `Content-Type`, 401 with `WWW-Authenticate: Basic, Bearer` | as listed | `google.rpc.Status` in the request's encoding ([`OtlpError`], docs/OTLP.md) |
//! | queue full, shutting down, write failed, database unreachable, body or commit too slow | 503 + `Retry-After` | text |
//! | query parameter not understood | 400 `bad_param` | JSON |
//! | bearer token missing or wrong | 401 `unauthorized` + `WWW-Authenticate: Bearer` | JSON |
//! | token for another app | 403 `forbidden` | JSON |
//! | unknown app, line or alert rule | 404 `not_found` | JSON |
//! | alert rule body with a bad key | 400 `bad_param` (naming the key) | JSON |
//! | alert rule change without the server token as a bearer | 403 `forbidden` | JSON |
//! | alert rule of that name exists, or is the config file's | 409 `conflict` | JSON |
//! | no random status token could be made | 503 `unavailable` | JSON |
//! | read past `LOGDRAIN_QUERY_TIMEOUT` | 503 `query_timeout` | JSON |
//! | database failure on a read | 503 `unavailable` | JSON |
//!
//! The drain never answers 4xx because of what the body holds (docs/drain.md, "Statuses"):
//! Logplex drops a frame for good on a 4xx, so everything transient is a 503.

use crate::ingest::IngestError;
use crate::otlp::response::{self, code};
use crate::otlp::Encoding;
use crate::query::params::ParamError;
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    // The drain (`POST /logs`), answered in plain text.
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
    /// A request that cannot be understood regardless of what its lines hold (its encoding).
    #[error("{0}")]
    BadRequest(String),
    /// A `Content-Type` the endpoint does not read (OTLP).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Try again later: Logplex retries on a 503.
    #[error("unavailable: {cause}")]
    Unavailable {
        /// Why; logged, never sent.
        cause: Unavailable,
        /// Sent as Retry-After.
        retry_after: Duration,
    },

    // The query API, answered as `{"error": {"code", "message"}}`.
    /// 400 naming the parameter.
    #[error(transparent)]
    BadParam(#[from] ParamError),
    /// 401: no valid bearer token.
    #[error("a valid bearer token is required")]
    BearerRequired,
    /// 403.
    #[error("this token does not cover app {0}")]
    Forbidden(String),
    /// 404.
    #[error("no app named {0}")]
    NotFound(String),
    /// 404: the app has no line with this id.
    #[error("no line with id {0}")]
    NoLine(i64),
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
    /// 503: the database failed (logged, not shown), or a read ran past
    /// `LOGDRAIN_QUERY_TIMEOUT` (`query_timeout`, with advice).
    #[error("database unavailable")]
    Read(#[from] StoreError),
}

/// Why the drain answers 503, kept typed until it is logged.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// The credential lookup could not reach the database.
    #[error("auth lookup: {0}")]
    Store(#[from] StoreError),
    /// The write queue refused the job, or its batch failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The body did not arrive within `LOGDRAIN_BODY_TIMEOUT`.
    #[error("request body not received within {0:?}")]
    BodyTimeout(Duration),
    /// The commit did not finish within `LOGDRAIN_ACK_TIMEOUT`.
    #[error("commit did not finish within LOGDRAIN_ACK_TIMEOUT")]
    AckTimeout,
    /// A page session could not be opened or read: its database access failed.
    #[error("session: {0}")]
    Session(StoreError),
    /// The system's random source failed (no session id could be made).
    #[error("random source: {0}")]
    Random(getrandom::Error),
}

impl HttpError {
    /// A drain 503 for `cause`, with the configured `Retry-After`.
    pub fn unavailable(cause: impl Into<Unavailable>, retry_after: Duration) -> HttpError {
        HttpError::Unavailable {
            cause: cause.into(),
            retry_after,
        }
    }
}

impl HttpError {
    /// How the write queue's refusal is answered: 413 for a request that can never fit, a
    /// 503 + Retry-After for everything a retry can cure.
    pub fn from_ingest(e: IngestError, retry_after: Duration) -> HttpError {
        match e {
            IngestError::TooLarge { cost, share } => HttpError::TooLargeToStore(format!(
                "request lines need {cost} bytes of the write queue, more than one app's share \
                 of {share} (LOGDRAIN_APP_QUEUE_SHARE)"
            )),
            other => HttpError::unavailable(other, retry_after),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            HttpError::Unauthorized => {
                let challenge = HeaderValue::from_static("Basic realm=\"logdrain\"");
                return text(StatusCode::UNAUTHORIZED, "unauthorized", Some(challenge));
            }
            HttpError::PayloadTooLarge { limit } => {
                let msg = format!("request body larger than {limit} bytes (LOGDRAIN_MAX_BODY)");
                return text(StatusCode::PAYLOAD_TOO_LARGE, &msg, None);
            }
            HttpError::TooLargeToStore(msg) => {
                return text(StatusCode::PAYLOAD_TOO_LARGE, msg, None)
            }
            HttpError::BadRequest(msg) => return text(StatusCode::BAD_REQUEST, msg, None),
            HttpError::UnsupportedMediaType(msg) => {
                return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, msg, None)
            }
            HttpError::Unavailable { cause, retry_after } => {
                tracing::warn!(reason = %cause, "answering 503");
                let secs = retry_after.as_secs().max(1);
                let mut res = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily unavailable, retry",
                    None,
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                return res;
            }
            HttpError::BadParam(_) => (StatusCode::BAD_REQUEST, "bad_param", self.to_string()),
            HttpError::BearerRequired => {
                (StatusCode::UNAUTHORIZED, "unauthorized", self.to_string())
            }
            HttpError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", self.to_string()),
            HttpError::NotFound(_) | HttpError::NoLine(_) | HttpError::NoRule(_) => {
                (StatusCode::NOT_FOUND, "not_found", self.to_string())
            }
            HttpError::BadRule(_) => (StatusCode::BAD_REQUEST, "bad_param", self.to_string()),
            HttpError::ReadOnly => (StatusCode::FORBIDDEN, "forbidden", self.to_string()),
            HttpError::RuleExists(_) | HttpError::RuleFromConfig(_) => {
                (StatusCode::CONFLICT, "conflict", self.to_string())
            }
            HttpError::NoRandom => {
                tracing::warn!("query API: getrandom failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    self.to_string(),
                )
            }
            // The caller's query was too broad: say so, and how to narrow it.
            HttpError::Read(e @ StoreError::QueryTimeout(_)) => {
                tracing::info!(error = %e, "query API: read stopped by its timeout");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "query_timeout",
                    format!("{e}; narrow it with since/until or more filters"),
                )
            }
            HttpError::Read(e) => {
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

/// A plain-text drain answer: the message and a newline.
fn text(status: StatusCode, message: &str, challenge: Option<HeaderValue>) -> Response {
    let mut res = (status, format!("{message}\n")).into_response();
    if let Some(challenge) = challenge {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    res
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
            HttpError::Unavailable { cause, .. } => {
                tracing::warn!(reason = %cause, "answering 503");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::UNAVAILABLE,
                    "temporarily unavailable, retry".to_owned(),
                )
            }
            // The query API's errors; the OTLP handler returns none of them.
            other => {
                tracing::warn!(error = %other, "OTLP: unexpected error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code::INTERNAL,
                    "internal error".to_owned(),
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
