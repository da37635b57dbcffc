//! Operations endpoints: liveness, readiness and Prometheus metrics (docs/operations.md).

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: Postgres answers and the write queue has room; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let db = state.store.ping().await;
    let room = state.queue.has_room();
    let status = if db && room {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let storage = if db {
        state.store.storage_status().await.ok()
    } else {
        None
    };
    let policy = &state.query.maintenance;
    let body = serde_json::json!({
        "database": if db { "ok" } else { "unreachable" },
        "queue": if room { "ok" } else { "full" },
        "queue_depth_bytes": state.queue.depth_bytes(),
        "retention": {
            "max_age_seconds": policy.max_age.map(|d| d.as_secs()),
            "max_db_bytes": policy.max_db_bytes,
            "partition_interval_seconds": policy.interval.as_secs(),
            "search_index": policy.search_index,
        },
        "storage": storage,
    });
    (status, axum::Json(body))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state
        .queue
        .metrics()
        .render(state.queue.depth_bytes(), &state.queue.depth_per_app());
    let pool = state.store.pool();
    let size = u64::from(pool.size());
    let idle = u64::try_from(pool.num_idle()).unwrap_or(0);
    let max = u64::from(pool.options().get_max_connections());
    text.push_str(&format!(
        "# HELP logdrain_db_pool_connections Database connections by state.\n\
         # TYPE logdrain_db_pool_connections gauge\n\
         logdrain_db_pool_connections{{state=\"idle\"}} {idle}\n\
         logdrain_db_pool_connections{{state=\"in_use\"}} {}\n\
         # HELP logdrain_db_pool_max_connections The pool's limit.\n\
         # TYPE logdrain_db_pool_max_connections gauge\n\
         logdrain_db_pool_max_connections {max}\n",
        size.saturating_sub(idle)
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
