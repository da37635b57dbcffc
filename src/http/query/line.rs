//! `GET /api/apps/{app}/lines/{id}`: one line with its raw bytes and the app's lines around
//! it, for the log viewer's detail view (and anyone with the line's `id`).

use super::AppRequest;
use crate::http::error::HttpError;
use crate::http::AppState;
use crate::query::format::line_json;
use crate::query::params::{self, ParamError};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

/// Lines shown on each side by default.
const DEFAULT_AROUND: i64 = 10;
/// The most `around` may ask for.
const MAX_AROUND: i64 = 100;

/// `GET /api/apps/{app}/lines/{id}?around=N`:
/// `{"line": LINE + "raw_base64", "before": [LINE…], "after": [LINE…]}`, both lists oldest
/// first; 404 `not_found` for an id the app does not have.
pub async fn line(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    req: AppRequest,
) -> Result<Response, HttpError> {
    let id: i64 = id.parse().map_err(|_| ParamError {
        param: "id",
        message: "not a line id (a whole number)".into(),
    })?;
    let around = match params::param(&req.query, "around") {
        None => DEFAULT_AROUND,
        Some(a) => a
            .parse::<i64>()
            .ok()
            .filter(|a| (0..=MAX_AROUND).contains(a))
            .ok_or_else(|| ParamError {
                param: "around",
                message: format!("not a whole number from 0 to {MAX_AROUND}"),
            })?,
    };
    let app = req.app.as_str();
    let Some(ctx) = state.store.line_context(req.app_id, id, around).await? else {
        return Err(HttpError::NoLine(id));
    };
    let mut line = line_json(&ctx.line, app);
    line["raw_base64"] = base64::engine::general_purpose::STANDARD
        .encode(&ctx.raw)
        .into();
    let list = |rows: &[crate::store::read::LineRow]| -> Vec<_> {
        rows.iter().map(|r| line_json(r, app)).collect()
    };
    Ok(axum::Json(json!({
        "line": line,
        "before": list(&ctx.before),
        "after": list(&ctx.after),
    }))
    .into_response())
}
