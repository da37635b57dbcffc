//! The alert endpoints (docs/ALERTS.md): rules listed with their state, history and
//! deliveries for any token of the app; created, replaced, deleted, snoozed and given a status
//! token only with the server token; and the per-rule status URL for uptime checkers, which
//! also takes the rule's own status token in the query string.

use super::error::HttpError;
use super::query::{app_scope, authorize, now_us, AppRequest, Scope};
use super::AppState;
use crate::alerts::{RuleError, RuleSpec};
use crate::query::format::rfc3339;
use crate::query::params::{self, parse_time};
use crate::store::alerts::{DeliveryRow, HistoryRow, RuleRow, Written};
use crate::store::apps::{constant_time_eq, generate_token, hash_token};
use crate::store::read::micros_to_utc;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// State changes and deliveries shown per rule.
const HISTORY_PER_RULE: i64 = 20;

/// A change to an app's rules, authorized: only the server token, sent as a bearer token, may
/// (a read token or a page session gets 403), and the app must exist. `name` is the rule's,
/// when the path has one.
pub struct Change {
    app: String,
    name: String,
}

impl axum::extract::FromRequestParts<AppState> for Change {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, HttpError> {
        let Path(mut path) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| HttpError::NotFound(String::new()))?;
        let app = path.remove("app").unwrap_or_default();
        let scope = authorize(state, &parts.headers).await?;
        // A bearer token takes precedence over the cookie, so with one sent `All` is the
        // server token itself; a page session (even the server token's) only reads.
        if matches!(scope, Scope::App { .. }) || !bearer_sent(&parts.headers) {
            return Err(HttpError::ReadOnly);
        }
        if state.store.app_by_name(&app).await?.is_none() {
            return Err(HttpError::NotFound(app));
        }
        Ok(Change {
            app,
            name: path.remove("name").unwrap_or_default(),
        })
    }
}

/// Whether the request carries a bearer token (the pages' session cookie is not one).
fn bearer_sent(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") || v.starts_with("bearer "))
}

fn status_path(row: &RuleRow) -> String {
    format!("/api/apps/{}/alerts/{}/status", row.app, row.name)
}

fn rule_json(row: &RuleRow, history: &[HistoryRow], deliveries: &[DeliveryRow]) -> Value {
    let notify: Vec<Value> = row
        .notify
        .0
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|t| {
            json!({
                "target": crate::alerts::rule::shown_url(t["url"].as_str().unwrap_or("")),
                "format": t["format"],
            })
        })
        .collect();
    json!({
        "name": row.name,
        "app": row.app,
        "kind": row.kind,
        "filter": row.filter,
        "threshold": row.threshold,
        "window_secs": row.window_secs,
        "for_secs": row.for_secs,
        "min_volume": row.min_volume,
        "notify": notify,
        "remind_secs": row.remind_secs,
        "snooze_until": row.snoozed_until.as_ref().map(rfc3339),
        "source": row.source,
        "state": row.state,
        "state_since": rfc3339(&row.state_since),
        "value": row.value,
        "evaluated_at": row.evaluated_at.as_ref().map(rfc3339),
        "status_url": status_path(row),
        "status_token_issued": row.status_token_hash.is_some(),
        "history": history.iter().filter(|h| h.rule_id == row.id).map(|h| json!({
            "at": rfc3339(&h.at), "from": h.from_state, "to": h.to_state, "value": h.value,
        })).collect::<Vec<_>>(),
        "deliveries": deliveries.iter().filter(|d| d.rule_id == row.id).map(|d| json!({
            "event": d.event, "target": d.target, "format": d.format, "status": d.status,
            "attempts": d.attempts, "last_status": d.last_status, "last_error": d.last_error,
            "created_at": rfc3339(&d.created_at),
            "finished_at": d.finished_at.as_ref().map(rfc3339),
        })).collect::<Vec<_>>(),
    })
}

/// Rules with their history and deliveries, as JSON.
async fn rules_json(state: &AppState, rows: &[RuleRow]) -> Result<Vec<Value>, HttpError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let history = state.store.alert_history(&ids, HISTORY_PER_RULE).await?;
    let deliveries = state.store.alert_deliveries(&ids, HISTORY_PER_RULE).await?;
    Ok(rows
        .iter()
        .map(|r| rule_json(r, &history, &deliveries))
        .collect())
}

async fn one_rule(state: &AppState, app: &str, name: &str) -> Result<Value, HttpError> {
    let row = state
        .store
        .alert_rule(app, name)
        .await?
        .ok_or_else(|| HttpError::NoRule(name.to_owned()))?;
    Ok(rules_json(state, std::slice::from_ref(&row))
        .await?
        .pop()
        .unwrap_or_default())
}

fn spec(body: &[u8]) -> Result<RuleSpec, HttpError> {
    serde_json::from_slice(body).map_err(|e| {
        HttpError::BadRule(RuleError {
            key: "body".into(),
            message: e.to_string(),
        })
    })
}

fn new_status_token() -> Result<(String, Vec<u8>), HttpError> {
    let token = generate_token().map_err(|_| HttpError::NoRandom)?;
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// `GET /api/apps/{app}/alerts`.
pub async fn list(State(state): State<AppState>, req: AppRequest) -> Result<Response, HttpError> {
    let rows = state.store.alert_rules(Some(&req.app)).await?;
    let alerts = rules_json(&state, &rows).await?;
    Ok(axum::Json(json!({ "alerts": alerts })).into_response())
}

/// `GET /api/apps/{app}/alerts/{name}`.
pub async fn get(
    State(state): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    req: AppRequest,
) -> Result<Response, HttpError> {
    Ok(axum::Json(one_rule(&state, &req.app, &name).await?).into_response())
}

/// `POST /api/apps/{app}/alerts`: 201 with the rule and its status token (shown this once).
pub async fn create(
    State(state): State<AppState>,
    Change { app, .. }: Change,
    body: Bytes,
) -> Result<Response, HttpError> {
    let rule = spec(&body)?.validate(Some(&app))?;
    let (token, hash) = new_status_token()?;
    if state.store.create_alert(&rule, &hash).await? == Written::Exists {
        return Err(HttpError::RuleExists(rule.name));
    }
    let mut out = one_rule(&state, &app, &rule.name).await?;
    out["status_token"] = Value::from(token);
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

/// `PUT /api/apps/{app}/alerts/{name}`: replaces the definition; the state is kept.
pub async fn update(
    State(state): State<AppState>,
    Change { app, name }: Change,
    body: Bytes,
) -> Result<Response, HttpError> {
    let spec = spec(&body)?;
    if spec.name != name {
        return Err(HttpError::BadRule(RuleError {
            key: "name".into(),
            message: "differs from the name in the URL".into(),
        }));
    }
    let rule = spec.validate(Some(&app))?;
    written(state.store.update_alert(&rule).await?, &name)?;
    Ok(axum::Json(one_rule(&state, &app, &name).await?).into_response())
}

/// `DELETE /api/apps/{app}/alerts/{name}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Change { app, name }: Change,
) -> Result<Response, HttpError> {
    written(state.store.delete_alert(&app, &name).await?, &name)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn written(w: Written, name: &str) -> Result<(), HttpError> {
    match w {
        Written::Done => Ok(()),
        Written::NotFound => Err(HttpError::NoRule(name.to_owned())),
        Written::Exists => Err(HttpError::RuleExists(name.to_owned())),
        Written::FromConfig => Err(HttpError::RuleFromConfig(name.to_owned())),
    }
}

/// `POST /api/apps/{app}/alerts/{name}/snooze` with `{"until": TIME}` (RFC 3339) or
/// `{"for": "1h"}`: no notification before then.
pub async fn snooze(
    State(state): State<AppState>,
    Change { app, name }: Change,
    body: Bytes,
) -> Result<Response, HttpError> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let bad = |key: &str, message: &str| {
        HttpError::BadRule(RuleError {
            key: key.into(),
            message: message.into(),
        })
    };
    let now = now_us();
    let until_us = match (body["until"].as_str(), body["for"].as_str()) {
        (Some(t), None) => parse_time("until", t, now).map_err(|e| bad("until", &e.message))?,
        (None, Some(d)) => {
            let d = crate::units::parse_duration(d).map_err(|e| bad("for", &e))?;
            now + i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 2)
        }
        _ => {
            return Err(bad(
                "body",
                "expected {\"until\": TIME} or {\"for\": DURATION}",
            ))
        }
    };
    written(
        state
            .store
            .snooze_alert(&app, &name, Some(micros_to_utc(until_us)))
            .await?,
        &name,
    )?;
    Ok(axum::Json(one_rule(&state, &app, &name).await?).into_response())
}

/// `DELETE /api/apps/{app}/alerts/{name}/snooze`: notifications resume.
pub async fn unsnooze(
    State(state): State<AppState>,
    Change { app, name }: Change,
) -> Result<Response, HttpError> {
    written(state.store.snooze_alert(&app, &name, None).await?, &name)?;
    Ok(axum::Json(one_rule(&state, &app, &name).await?).into_response())
}

/// `POST /api/apps/{app}/alerts/{name}/status-token`: a new status token (the old one stops
/// working), for config-file rules too.
pub async fn status_token(
    State(state): State<AppState>,
    Change { app, name }: Change,
) -> Result<Response, HttpError> {
    let (token, hash) = new_status_token()?;
    written(
        state
            .store
            .set_alert_status_token(&app, &name, &hash)
            .await?,
        &name,
    )?;
    Ok(axum::Json(json!({
        "status_token": token,
        "status_url": format!("/api/apps/{app}/alerts/{name}/status?token={token}"),
    }))
    .into_response())
}

/// `GET /api/apps/{app}/alerts/{name}/status`: 200 unless the rule fires, then 503. With a
/// bearer token of the app, or `?token=` the rule's status token (which grants only this).
pub async fn status(
    State(state): State<AppState>,
    Path((app, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let row = match params::param(query.as_deref().unwrap_or(""), "token") {
        Some(token) => {
            let row = state.store.alert_rule(&app, &name).await?;
            let valid = row.as_ref().and_then(|r| r.status_token_hash.as_deref());
            match valid {
                Some(hash) if constant_time_eq(&hash_token(&token), hash) => row,
                _ => return Err(HttpError::BearerRequired),
            }
        }
        None => {
            app_scope(&state, &headers, &app).await?;
            state.store.alert_rule(&app, &name).await?
        }
    };
    let row = row.ok_or_else(|| HttpError::NoRule(name.clone()))?;
    let code = if row.state == "firing" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "app": row.app,
        "alert": row.name,
        "state": row.state,
        "since": rfc3339(&row.state_since),
        "value": row.value,
        "threshold": row.threshold,
        "evaluated_at": row.evaluated_at.as_ref().map(rfc3339),
    });
    Ok((
        code,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response())
}
