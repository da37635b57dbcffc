//! axum lives here and nowhere else: the router, the shared state, auth, handlers and the
//! error → status table.

mod alerts;
mod auth;
pub mod error;
mod heads;
mod ingest;
mod ops;
mod otlp;
mod pages;
mod query;
pub mod server;
mod session;

pub use auth::{DrainAuth, OtlpWriter};
pub use query::QueryConfig;

use crate::ingest::IngestQueue;
use crate::store::notify::Tails;
use crate::store::Store;
use axum::extract::{MatchedPath, Request};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tower_http::trace::TraceLayer;

/// Limits the handlers enforce, from the validated config.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body accepted, before and after gzip decoding.
    pub max_body_bytes: usize,
    /// Largest single frame trusted.
    pub max_frame_bytes: usize,
    /// Most lines (frames) one request may hold.
    pub max_lines: usize,
    /// Most attributes kept as tags on one OTLP log line.
    pub otlp_max_attributes: usize,
    /// How long a request waits for its commit.
    pub ack_timeout: Duration,
    /// Retry-After on 503.
    pub retry_after: Duration,
    /// Longest a request body may take to arrive.
    pub body_timeout: Duration,
}

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The write queue.
    pub queue: IngestQueue,
    /// Drain credential checks.
    pub auth: Arc<DrainAuth>,
    /// Request limits.
    pub limits: Arc<Limits>,
    /// Query API settings.
    pub query: Arc<QueryConfig>,
    /// The shared notification path of live tails.
    pub tails: Tails,
    /// Redaction, drop and sampling rules applied to every line before it is stored.
    pub rules: Arc<crate::rules::Rules>,
}

/// The pages and their assets, each response with the pages' security headers.
fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home).post(pages::sign_in))
        .route("/signout", post(pages::sign_out))
        .route("/apps/{app}", get(pages::overview))
        .route("/apps/{app}/logs", get(pages::logs))
        .route("/assets/{name}", get(pages::asset))
        .layer(axum::middleware::from_fn(pages::security_headers))
}

/// The whole HTTP surface in one place.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/logs", post(ingest::post_logs))
        .route("/v1/logs", post(otlp::post_logs))
        .route("/otlp/v1/logs", post(otlp::post_logs))
        .route("/otlp", post(otlp::post_logs))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(query::openapi))
        .route("/api/apps", get(query::apps))
        .route("/api/apps/{app}/logs", get(query::logs))
        .route("/api/apps/{app}/tail", get(query::tail))
        .route("/api/apps/{app}/requests/{request_id}", get(query::request))
        .route("/api/apps/{app}/stats/requests", get(query::stats_requests))
        .route("/api/apps/{app}/stats/errors", get(query::stats_errors))
        .route("/api/apps/{app}/metrics", get(query::metrics))
        .route("/api/apps/{app}/events", get(query::events))
        .route("/api/apps/{app}/loss", get(query::loss))
        .route(
            "/api/apps/{app}/alerts",
            get(alerts::list).post(alerts::create),
        )
        .route(
            "/api/apps/{app}/alerts/{name}",
            get(alerts::get).put(alerts::update).delete(alerts::delete),
        )
        .route("/api/apps/{app}/alerts/{name}/status", get(alerts::status))
        .route(
            "/api/apps/{app}/alerts/{name}/snooze",
            post(alerts::snooze).delete(alerts::unsnooze),
        )
        .route(
            "/api/apps/{app}/alerts/{name}/status-token",
            post(alerts::status_token),
        )
        .route("/api/apps/{app}/lines/{id}", get(query::line))
        .merge(page_routes())
        .with_state(state)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // Named by route template, never the raw path or query (it may carry tags).
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("unmatched");
            tracing::info_span!("request", method = %req.method(), route)
        }))
}
