//! `POST /v1/logs` (also `/otlp/v1/logs` and `/otlp`, the URL given to `heroku telemetry:add`
//! with or without `/v1/logs` appended): OTLP/HTTP logs. Auth from the headers, the body
//! (capped, gunzipped) decoded by `Content-Type`, the pure mapping, then per app the rules, the
//! COPY encoder and the write queue; `200` with an `ExportLogsServiceResponse` only once every
//! line is committed.
//!
//! A retried export (OTLP exporters resend the whole request) is stored once: the frame-ledger
//! id of each app's lines is a hash of the decoded body, so a retry within the ledger's window
//! (`FRAME_LEDGER_KEEP`, a day) is answered `200` and writes nothing twice.

use super::error::{HttpError, OtlpError};
use super::ingest::{blocking, commit, count_request, header_str, now_us, read_body};
use super::AppState;
use crate::otlp::{self, map::MapSettings, response, Encoding, Routing};
use crate::pipeline;
use crate::record::AppName;
use crate::store::rollup::Rollup;
use crate::store::Job;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;

/// Receives one OTLP/HTTP logs export.
pub async fn post_logs(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OtlpError> {
    let encoding = header_str(&headers, "content-type").and_then(Encoding::from_content_type);
    let result = receive(&state, encoding, query, &headers, body).await;
    count_request(&state, &result);
    result.map_err(|error| OtlpError {
        error,
        // An answer to a request in an encoding we do not read is JSON, the readable one.
        encoding: encoding.unwrap_or(Encoding::Json),
    })
}

async fn receive(
    state: &AppState,
    encoding: Option<Encoding>,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let limits = &state.limits;
    let retry_after = limits.retry_after;

    // 1. Who is it, and what encoding? Both decided before the body is read.
    let writer = state.auth.check_otlp(headers, retry_after).await?;
    let Some(encoding) = encoding else {
        return Err(HttpError::UnsupportedMediaType(format!(
            "Content-Type {:?} is not OTLP/HTTP: send application/x-protobuf or application/json",
            header_str(headers, "content-type").unwrap_or("")
        )));
    };

    // 2. An app's credential takes one of that app's turns (LOGDRAIN_APP_CONCURRENCY), as a
    //    drain does; a space's lines are only known to be whose once the body is read.
    let turn = match writer {
        super::auth::OtlpWriter::App(id) => Some(
            state
                .queue
                .turn(id, tokio::time::Instant::now() + limits.ack_timeout)
                .await
                .map_err(|e| HttpError::from_ingest(e, retry_after))?,
        ),
        _ => None,
    };

    // 3. The body, bounded before and after decompression.
    let body = read_body(limits, headers, body).await?;

    // 4. Decoded and mapped off the async workers (the CPU-heavy part, as for drains): one
    //    syslog line per record, with its telemetry.
    let received_us = now_us();
    let routing = match writer {
        super::auth::OtlpWriter::App(_) => Routing::OneApp,
        _ => Routing::ByServiceName,
    };
    let drain_tags: Vec<(String, String)> = query
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let settings = MapSettings {
        max_attributes: limits.otlp_max_attributes,
    };
    let decoded = blocking(retry_after, move || {
        let request = otlp::decode(&body, encoding)?;
        let ledger_id = ledger_id(&body, encoding);
        drop(body);
        let mapped = otlp::lines(&request, routing, &drain_tags, settings, received_us);
        Ok::<_, otlp::DecodeError>((ledger_id, mapped))
    })
    .await?;
    let (ledger_id, mut mapped) = decoded.map_err(|e| HttpError::BadRequest(e.to_string()))?;
    let metrics = state.queue.metrics();
    metrics
        .lines_received
        .fetch_add(mapped.lines.len() as u64, Relaxed);

    // 5. The app of every line: the credential's, or each `service.name`'s.
    let mut by_app: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    let mut resolved: HashMap<&AppName, Option<i64>> = HashMap::new();
    let mut rejected = (0u64, None::<String>);
    for (i, line) in mapped.lines.iter().enumerate() {
        let app_id = match (writer, &line.app) {
            (super::auth::OtlpWriter::App(id), _) => Some(id),
            (_, None) => None,
            (_, Some(name)) => match resolved.get(name) {
                Some(id) => *id,
                None => {
                    let id = state.auth.service_app(writer, name, retry_after).await?;
                    resolved.insert(name, id);
                    id
                }
            },
        };
        match app_id {
            Some(id) => by_app.entry(id).or_default().push(i),
            None => {
                rejected.0 += 1;
                if rejected.1.is_none() {
                    rejected.1 = line.app.as_ref().map(|name| {
                        format!("app {name} (service.name) belongs to another credential")
                    });
                }
            }
        }
    }
    drop(resolved);
    mapped.rejected += rejected.0;
    if mapped.rejection.is_none() {
        mapped.rejection = rejected.1;
    }
    let (rejected, rejection) = (mapped.rejected, mapped.rejection.take());

    // 6. Per app, the pipeline (classify, rules, encode), off the async workers; then queue
    //    every job and wait for all.
    let rules = std::sync::Arc::clone(&state.rules);
    let max_frame = limits.max_frame_bytes;
    let jobs: Vec<Job> = blocking(retry_after, move || {
        by_app
            .into_iter()
            .map(|(app_id, at)| {
                let ctx = pipeline::Context {
                    app_id,
                    received_us,
                    tags: None,
                    frame_id: Some(&ledger_id),
                    max_frame,
                };
                let prepared =
                    pipeline::run_otlp(at.iter().map(|&i| &mapped.lines[i]), &ctx, &rules);
                Job {
                    app_id,
                    frame_id: Some(ledger_id.clone()),
                    lines: prepared.lines(),
                    rows: prepared.rows,
                    dropped: prepared.dropped,
                    msg_count_mismatch: None,
                    frame_length_mismatches: 0,
                    logplex_drain_token: None,
                    rule_events: prepared.rule_events,
                    rollup: Rollup::of(app_id, &prepared.records),
                }
            })
            .collect()
    })
    .await?;
    drop(turn);
    let commits = futures_util::future::join_all(jobs.into_iter().map(|job| commit(state, job)));
    for outcome in commits.await {
        outcome?;
    }

    let body = response::success(encoding, rejected, rejection.as_deref());
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response())
}

/// The frame-ledger id of an export: `otlp-` and 128 bits of SHA-256 of the decoded body and
/// its encoding. An exporter's retry resends the same request, so it gets the same id.
fn ledger_id(body: &[u8], encoding: Encoding) -> String {
    let mut hasher = Sha256::new();
    hasher.update(encoding.content_type().as_bytes());
    hasher.update([0]);
    hasher.update(body);
    let digest = hasher.finalize();
    let mut id = String::with_capacity(5 + 32);
    id.push_str("otlp-");
    for b in &digest[..16] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}
