//! The query API's handlers (their reference: `GET /api/openapi.json`): bearer auth, `/api/apps` and the per-app endpoints.
//! Parameters are parsed by `query::params`, SQL lives in `store::read`, output formats in
//! `query::format`.

mod line;
mod tail;

pub use line::line;
pub use tail::tail;

use super::error::HttpError;
use super::AppState;
use crate::query::format::{self, rfc3339};
use crate::query::params::{
    self, parse_log_query, Format, LogQuery, ParamError, DEFAULT_LINES, MAX_LINES,
};
use crate::query::{codes, OPENAPI_JSON};
use crate::record::Kind;
use crate::secret::Secret;
use crate::store::apps::{constant_time_eq, hash_token};
use crate::store::filter::{LogFilter, TimeRange};
use crate::store::read::{micros_to_utc, GroupBy, LineRow};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Query API settings.
#[derive(Debug, Clone, Default)]
pub struct QueryConfig {
    /// The server token: reads every app.
    pub api_token: Option<Secret>,
    /// The maintenance policy, shown by /readyz.
    pub maintenance: crate::store::partitions::Policy,
    /// How long a page session lasts after sign-in (`LOGDRAIN_SESSION_TTL`).
    pub session_ttl: Duration,
    /// The server itself serves HTTPS: session cookies are `Secure`.
    pub https: bool,
}

/// What a bearer token may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The server token.
    All,
    /// An app's read token: that app only.
    App {
        /// apps.id.
        id: i64,
        /// apps.name.
        name: String,
    },
}

/// Checks the bearer token (the server token, or an app's read token) or, without one, the
/// pages' session cookie on a same-origin request (`http::session`).
pub(super) async fn authorize(state: &AppState, headers: &HeaderMap) -> Result<Scope, HttpError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let scope = match bearer {
        Some(token) => token_scope(state, token).await?,
        None => super::session::scope(state, headers).await?,
    };
    scope.ok_or(HttpError::BearerRequired)
}

/// What a read token covers: the server token, or an app's read token; `None` for neither.
pub(super) async fn token_scope(
    state: &AppState,
    token: &str,
) -> Result<Option<Scope>, crate::store::StoreError> {
    if let Some(server) = &state.query.api_token {
        if constant_time_eq(token.as_bytes(), server.expose().as_bytes()) {
            return Ok(Some(Scope::All));
        }
    }
    Ok(state
        .store
        .app_by_read_token(&hash_token(token))
        .await?
        .map(|(id, name)| Scope::App { id, name }))
}

/// Authorizes a per-app request: 401, then 403 for an app the token does not cover, then 404.
pub(super) async fn app_scope(
    state: &AppState,
    headers: &HeaderMap,
    app: &str,
) -> Result<i64, HttpError> {
    match authorize(state, headers).await? {
        Scope::App { id, name } if name == app => Ok(id),
        Scope::App { .. } => Err(HttpError::Forbidden(app.to_owned())),
        Scope::All => state
            .store
            .app_by_name(app)
            .await?
            .map(|a| a.id)
            .ok_or_else(|| HttpError::NotFound(app.to_owned())),
    }
}

/// A per-app request, authorized: the app (401/403/404 already answered), its raw query
/// string and the Accept header. Every `/api/apps/{app}/…` handler starts from this.
pub struct AppRequest {
    /// The app name from the path.
    pub app: String,
    /// Its id.
    pub app_id: i64,
    /// The query string, without `?`.
    pub query: String,
    /// The Accept header.
    pub accept: Option<String>,
}

impl axum::extract::FromRequestParts<AppState> for AppRequest {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, HttpError> {
        let Path(path) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| HttpError::NotFound(String::new()))?;
        let app = path.get("app").cloned().unwrap_or_default();
        let app_id = app_scope(state, &parts.headers, &app).await?;
        Ok(AppRequest {
            app,
            app_id,
            query: parts.uri.query().unwrap_or("").to_owned(),
            accept: accept(&parts.headers).map(str::to_owned),
        })
    }
}

impl AppRequest {
    /// The `/logs`-style filters, `n` defaulting to `default_n`.
    pub fn log_query(&self, default_n: i64) -> Result<LogQuery, HttpError> {
        Ok(parse_log_query(
            &self.query,
            self.accept.as_deref(),
            default_n,
            now_us(),
        )?)
    }

    /// `since`/`until` of the aggregate endpoints (default: the last hour).
    pub fn range(&self) -> Result<TimeRange, HttpError> {
        Ok(params::parse_range(&self.query, now_us())?)
    }
}

pub(super) fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

/// `GET /api/apps`.
pub async fn apps(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let scope = authorize(&state, &headers).await?;
    let apps = state.store.list_apps().await?;
    let list: Vec<Value> = apps
        .into_iter()
        .filter(|a| match &scope {
            Scope::All => true,
            Scope::App { name, .. } => &a.name == name,
        })
        .map(|a| {
            json!({
                "name": a.name,
                "created_at": rfc3339(&a.created_at),
                "last_seen_at": a.last_seen_at.as_ref().map(rfc3339),
                "lines": a.lines,
                "dropped": a.dropped,
            })
        })
        .collect();
    Ok(axum::Json(list).into_response())
}

/// Writes a page of lines (oldest first) in the requested format.
fn lines_response(rows: &[LineRow], app: &str, format: Format, next: Option<String>) -> Response {
    match format {
        Format::Json => axum::Json(json!({
            "lines": rows.iter().map(|r| format::line_json(r, app)).collect::<Vec<_>>(),
            "next_cursor": next,
        }))
        .into_response(),
        Format::Ndjson => {
            let mut out = Vec::new();
            for r in rows {
                format::push_ndjson(&mut out, r, app);
            }
            ([(header::CONTENT_TYPE, "application/x-ndjson")], out).into_response()
        }
        Format::Text | Format::Sse => {
            let mut out = Vec::new();
            for r in rows {
                format::push_text(&mut out, r);
            }
            let mut res =
                ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out).into_response();
            if let Some(next) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
                res.headers_mut().insert("logdrain-next-cursor", next);
            }
            res
        }
    }
}

/// `GET /api/apps/{app}/logs`.
pub async fn logs(State(state): State<AppState>, req: AppRequest) -> Result<Response, HttpError> {
    let (app, app_id) = (req.app.as_str(), req.app_id);
    let q = req.log_query(DEFAULT_LINES)?;
    let page = state.store.lines_page(app_id, &q.filter).await?;
    let mut rows = page.lines;
    rows.reverse();
    let rows = format::join_continued(rows);
    let format = q.format.unwrap_or(Format::Text);
    Ok(lines_response(
        &rows,
        app,
        format,
        page.next.map(|c| c.encode()),
    ))
}

/// `GET /api/apps/{app}/events`: api and system lines, newest first.
pub async fn events(State(state): State<AppState>, req: AppRequest) -> Result<Response, HttpError> {
    let (app, app_id) = (req.app.as_str(), req.app_id);
    let mut q = req.log_query(DEFAULT_LINES)?;
    q.filter.kinds = vec![Kind::Api, Kind::System];
    let page = state.store.lines_page(app_id, &q.filter).await?;
    let format = q.format.unwrap_or(Format::Text);
    Ok(lines_response(
        &page.lines,
        app,
        format,
        page.next.map(|c| c.encode()),
    ))
}

/// `GET /api/apps/{app}/requests/{request_id}`: router and app lines, oldest first; the id
/// may also be an OTLP trace id, whose lines are included.
pub async fn request(
    State(state): State<AppState>,
    Path((_, request_id)): Path<(String, String)>,
    req: AppRequest,
) -> Result<Response, HttpError> {
    let (app, app_id) = (req.app.as_str(), req.app_id);
    let parsed = req.log_query(MAX_LINES)?;
    let q = LogQuery {
        filter: LogFilter {
            n: MAX_LINES,
            request_or_trace_id: Some(request_id),
            ..LogFilter::default()
        },
        format: parsed.format,
    };
    let mut rows = state.store.lines_page(app_id, &q.filter).await?.lines;
    rows.reverse();
    Ok(lines_response(
        &rows,
        app,
        q.format.unwrap_or(Format::Text),
        None,
    ))
}

/// An aggregate answer: `body`'s keys after the range it covers.
fn in_range(range: TimeRange, body: Value) -> Response {
    let mut out = Map::new();
    out.insert(
        "since".into(),
        Value::from(rfc3339(&micros_to_utc(range.since_us))),
    );
    out.insert(
        "until".into(),
        Value::from(rfc3339(&micros_to_utc(range.until_us))),
    );
    if let Value::Object(fields) = body {
        out.extend(fields);
    }
    axum::Json(Value::Object(out)).into_response()
}

/// `GET /api/apps/{app}/stats/requests`.
pub async fn stats_requests(
    State(state): State<AppState>,
    req: AppRequest,
) -> Result<Response, HttpError> {
    let app_id = req.app_id;
    let query = req.query.as_str();
    let range = req.range()?;
    let by = match params::param(query, "by") {
        None => GroupBy::Path,
        Some(b) => GroupBy::parse(&b).ok_or_else(|| ParamError {
            param: "by",
            message: format!("{b:?} is not one of path, status, dyno, method, host, minute, hour"),
        })?,
    };
    let limit = match params::param(query, "limit") {
        None => 50,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| ParamError {
                param: "limit",
                message: "not a positive whole number".into(),
            })?,
    };
    let status = params::param(query, "status")
        .map(|s| params::parse_status(&s))
        .transpose()?;
    let groups = state
        .store
        .request_stats(app_id, range, by, status, limit.min(MAX_LINES))
        .await?;
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|g| {
            json!({
                "key": g.key,
                "count": g.count,
                "errors": g.errors,
                "error_rate": if g.count > 0 { g.errors as f64 / g.count as f64 } else { 0.0 },
                "p50_ms": g.p50_ms,
                "p95_ms": g.p95_ms,
                "p99_ms": g.p99_ms,
                "max_ms": g.max_ms,
                "bytes": g.bytes,
            })
        })
        .collect();
    Ok(in_range(range, json!({ "groups": groups })))
}

/// `GET /api/apps/{app}/stats/errors`.
pub async fn stats_errors(
    State(state): State<AppState>,
    req: AppRequest,
) -> Result<Response, HttpError> {
    let app_id = req.app_id;
    let range = req.range()?;
    let codes: Vec<Value> = state
        .store
        .error_stats(app_id, range)
        .await?
        .into_iter()
        .map(|c| {
            let desc = c
                .desc
                .or_else(|| codes::describe(&c.code).map(str::to_owned));
            json!({
                "code": c.code,
                "desc": desc,
                "count": c.count,
                "first_seen": rfc3339(&c.first_seen),
                "last_seen": rfc3339(&c.last_seen),
            })
        })
        .collect();
    let Some(bucket) = bucket_param(&req.query)? else {
        return Ok(in_range(range, json!({ "codes": codes })));
    };
    let series: Vec<Value> = state
        .store
        .error_series(app_id, range, bucket)
        .await?
        .into_iter()
        .map(|b| json!({"ts": rfc3339(&b.ts), "code": b.code, "count": b.count}))
        .collect();
    Ok(in_range(
        range,
        json!({ "codes": codes, "bucket": format!("{bucket}s"), "series": series }),
    ))
}

/// `bucket` of `/metrics` and `/stats/errors`: a duration of at least a second, in seconds.
fn bucket_param(query: &str) -> Result<Option<i64>, ParamError> {
    let Some(b) = params::param(query, "bucket") else {
        return Ok(None);
    };
    let d = crate::units::parse_duration(&b)
        .ok()
        .filter(|d| d.as_secs() >= 1)
        .ok_or_else(|| ParamError {
            param: "bucket",
            message: "not a duration of at least 1s, like 30s, 1m or 1h".into(),
        })?;
    Ok(Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
}

/// `GET /api/apps/{app}/metrics`.
pub async fn metrics(
    State(state): State<AppState>,
    req: AppRequest,
) -> Result<Response, HttpError> {
    let app_id = req.app_id;
    let query = req.query.as_str();
    let range = req.range()?;
    let secs = bucket_param(query)?.unwrap_or(60);
    let rows = state.store.dyno_metrics(app_id, range, secs).await?;
    let body = format::metrics_json(&rows, &format!("{secs}s"), range);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /api/apps/{app}/loss`.
pub async fn loss(State(state): State<AppState>, req: AppRequest) -> Result<Response, HttpError> {
    let app_id = req.app_id;
    let range = req.range()?;
    let (dropped, mismatches, duplicates, length_mismatches) =
        state.store.loss(app_id, range).await?;
    let rules: Vec<_> = state
        .store
        .rule_events(app_id, range)
        .await?
        .into_iter()
        .map(|t| json!({"rule": t.rule, "action": t.action, "count": t.count}))
        .collect();
    Ok(in_range(
        range,
        json!({
            "dropped": dropped,
            "msg_count_mismatches": mismatches,
            "duplicate_frames": duplicates,
            "frame_length_mismatches": length_mismatches,
            "rules": rules,
        }),
    ))
}
