//! `POST /logs`: the drain endpoint (docs/drain.md). Only HTTP here: auth from the headers, the
//! body (size capped, gzip decoded), then `pipeline::run` makes the rows, the write queue takes
//! them, and `204` only once every line is committed.

use super::error::{HttpError, Unavailable};
use super::AppState;
use crate::ingest::IngestError;
use crate::store::rollup::Rollup;
use crate::store::{Job, JobOutcome};
use crate::{logplex, pipeline};
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use std::io::Read as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{SystemTime, UNIX_EPOCH};

/// Receives one Logplex POST.
pub async fn post_logs(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, HttpError> {
    let result = receive(&state, query, &headers, body).await;
    count_request(&state, &result);
    result
}

/// Counts an ingest request's outcome in `/metrics` (accepted, or answered 503).
pub(super) fn count_request<T>(state: &AppState, result: &Result<T, HttpError>) {
    let metrics = state.queue.metrics();
    match result {
        Ok(_) => {
            metrics.requests_accepted.fetch_add(1, Relaxed);
        }
        Err(HttpError::Unavailable { .. }) => {
            metrics.requests_unavailable.fetch_add(1, Relaxed);
        }
        Err(_) => {}
    }
}

async fn receive(
    state: &AppState,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode, HttpError> {
    let limits = &state.limits;

    // 1. Who is it? Decided before the body is read.
    let app_id = state.auth.check(headers, limits.retry_after).await?;

    // 2. One of the app's turns (LOGDRAIN_APP_CONCURRENCY): an app with many connections
    //    parses that many bodies at once, no more, and its other requests wait here, body
    //    unread, while other apps' requests take turns of their own. An app that holds its
    //    whole share of the write queue is refused before it waits or its body is read.
    if let Some(refused) = state.queue.check_share(app_id) {
        return Err(HttpError::from_ingest(refused, limits.retry_after));
    }
    let turn = state
        .queue
        .turn(app_id, tokio::time::Instant::now() + limits.ack_timeout)
        .await
        .map_err(|e| HttpError::from_ingest(e, limits.retry_after))?;

    // 3. The body, bounded before and after decompression.
    let body = read_body(limits, headers, body).await?;

    // 4. Off the async workers (parsing is the CPU-heavy part of a request; run inline it
    //    would hold up every other connection's I/O and the writers' round trips):
    //    - refused at once rather than after a wait no retry can shorten: a body with more
    //      frames than LOGDRAIN_MAX_LINES (counted by the framer alone, stopping past the cap);
    //    - the pure pipeline: frame → join → classify → rules → COPY rows, and the rollups.
    let frame_id = header_str(headers, "logplex-frame-id").map(str::to_owned);
    let tags = tags_json(query.as_deref());
    let (max_lines, max_frame) = (limits.max_lines, limits.max_frame_bytes);
    let rules = std::sync::Arc::clone(&state.rules);
    let job_frame_id = frame_id.clone();
    let parsed = blocking(limits.retry_after, move || {
        let frames = logplex::frames(&body, max_frame)
            .take(max_lines.saturating_add(1))
            .count();
        if frames > max_lines {
            return None;
        }
        let ctx = pipeline::Context {
            app_id,
            received_us: now_us(),
            tags: tags.as_deref(),
            frame_id: job_frame_id.as_deref(),
            max_frame,
        };
        let prepared = pipeline::run(&body, &ctx, &rules);
        Some(Parsed {
            rollup: Rollup::of(app_id, &prepared.records),
            no_records: prepared.records.is_empty(),
            lines: prepared.lines(),
            messages: prepared.messages,
            fallbacks: prepared.fallbacks,
            length_mismatches: prepared.length_mismatches,
            dropped: prepared.dropped,
            rows: prepared.rows,
            rule_events: prepared.rule_events,
        })
    })
    .await?;
    let Some(prepared) = parsed else {
        return Err(HttpError::TooLargeToStore(format!(
            "request holds more than {max_lines} lines (LOGDRAIN_MAX_LINES)"
        )));
    };
    let metrics = state.queue.metrics();
    metrics
        .lines_received
        .fetch_add(prepared.messages as u64, Relaxed);
    metrics
        .parse_fallbacks
        .fetch_add(prepared.fallbacks as u64, Relaxed);

    let msg_count = header_str(headers, "logplex-msg-count").and_then(|v| v.parse::<i64>().ok());
    let parsed = prepared.messages as i64;
    let msg_count_mismatch = msg_count.filter(|&n| n != parsed).map(|n| n - parsed);
    if prepared.no_records && msg_count_mismatch.is_none() && prepared.rule_events.is_empty() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let job = Job {
        app_id,
        frame_id,
        rows: prepared.rows,
        lines: prepared.lines,
        dropped: prepared.dropped,
        msg_count_mismatch,
        frame_length_mismatches: u32::try_from(prepared.length_mismatches).unwrap_or(u32::MAX),
        logplex_drain_token: header_str(headers, "logplex-drain-token").map(str::to_owned),
        rule_events: prepared.rule_events,
        rollup: prepared.rollup,
    };

    // 6. Queue, then wait for the commit (bounded: Logplex gives up after 5 s). The turn is
    //    given back first: what waits for the database is bounded by the app's queue share.
    drop(turn);
    commit(state, job).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs CPU-heavy work on the blocking pool; a panic there is a panic here, and a runtime
/// shutting down is a 503.
pub(super) async fn blocking<T: Send + 'static>(
    retry_after: std::time::Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HttpError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(out) => Ok(out),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(HttpError::unavailable(IngestError::Closed, retry_after)),
        },
    }
}

/// What a body became, owned (the pipeline's records borrow the body, which stays behind on
/// the blocking thread).
struct Parsed {
    rollup: Rollup,
    /// No line is left to store (all dropped, or none parsed).
    no_records: bool,
    lines: u32,
    messages: usize,
    fallbacks: usize,
    length_mismatches: usize,
    dropped: u64,
    rows: Vec<u8>,
    rule_events: Vec<crate::record::RuleEvent>,
}

/// Reads a request body within the limits: `Content-Length` checked first, the body cut off
/// after `LOGDRAIN_BODY_TIMEOUT`, then gzip decoded; larger than `LOGDRAIN_MAX_BODY` before or
/// after decoding is a 413. Shared by `/logs` and `/v1/logs`.
pub(super) async fn read_body(
    limits: &super::Limits,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, HttpError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes) {
        return Err(HttpError::PayloadTooLarge {
            limit: limits.max_body_bytes,
        });
    }
    // A body that trickles in (slow loris) is cut off; 503 rather than 408, because Logplex
    // drops a frame for good on any 4xx but 429 and a slow network is not the frame's fault.
    let raw = tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_body_bytes),
    )
    .await
    .map_err(|_| {
        HttpError::unavailable(
            Unavailable::BodyTimeout(limits.body_timeout),
            limits.retry_after,
        )
    })?
    .map_err(|_| HttpError::PayloadTooLarge {
        limit: limits.max_body_bytes,
    })?;
    decode(headers, raw, limits.max_body_bytes)
}

/// Queues one job and waits for its commit, at most `LOGDRAIN_ACK_TIMEOUT`: a full queue, a
/// failed batch or a late commit is a 503 with `Retry-After`. Shared by `/logs` and
/// `/v1/logs`.
pub(super) async fn commit(state: &AppState, job: Job) -> Result<JobOutcome, HttpError> {
    let retry_after = state.limits.retry_after;
    let job_app = job.app_id;
    let job_rules = job.rule_events.clone();
    let ack = state
        .queue
        .submit(job)
        .map_err(|e| HttpError::from_ingest(e, retry_after))?;
    let outcome = match tokio::time::timeout(state.limits.ack_timeout, ack).await {
        Ok(Ok(written)) => written.map_err(|e| HttpError::unavailable(e, retry_after))?,
        // The writer dropped the job's answer: it is shutting down.
        Ok(Err(_)) => return Err(HttpError::unavailable(IngestError::Closed, retry_after)),
        Err(_) => return Err(HttpError::unavailable(Unavailable::AckTimeout, retry_after)),
    };
    if outcome == JobOutcome::Stored {
        state.queue.metrics().record_rules(job_app, &job_rules);
    }
    Ok(outcome)
}

/// The body as sent, or gunzipped when `Content-Encoding: gzip` (capped at `max` bytes).
fn decode(headers: &HeaderMap, raw: Bytes, max: usize) -> Result<Bytes, HttpError> {
    let encoding = header_str(headers, "content-encoding")
        .map(str::trim)
        .unwrap_or("identity");
    if encoding.eq_ignore_ascii_case("identity") || encoding.is_empty() {
        return Ok(raw);
    }
    if !encoding.eq_ignore_ascii_case("gzip") && !encoding.eq_ignore_ascii_case("x-gzip") {
        return Err(HttpError::BadRequest(format!(
            "unsupported Content-Encoding {encoding:?} (identity or gzip)"
        )));
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    let read = flate2::read::MultiGzDecoder::new(&raw[..])
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| HttpError::BadRequest(format!("body is not valid gzip: {e}")))?;
    if read > max {
        return Err(HttpError::PayloadTooLarge { limit: max });
    }
    Ok(Bytes::from(out))
}

/// Drain-URL query parameters as a JSON object of strings (`None` when there are none).
fn tags_json(query: Option<&str>) -> Option<String> {
    let query = query.filter(|q| !q.is_empty())?;
    let map: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), serde_json::Value::from(v.into_owned())))
        .collect();
    (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string())
}

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_become_string_tags() {
        assert_eq!(
            tags_json(Some("env=production&team=pay%20ments")).as_deref(),
            Some(r#"{"env":"production","team":"pay ments"}"#)
        );
        assert_eq!(tags_json(Some("")), None);
        assert_eq!(tags_json(None), None);
    }

    #[test]
    fn gzip_bodies_are_decoded_within_the_limit() {
        use flate2::write::GzEncoder;
        use std::io::Write as _;
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&vec![b'a'; 10_000]).expect("write");
        let gz = Bytes::from(enc.finish().expect("finish"));
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().expect("value"));
        assert_eq!(
            decode(&headers, gz.clone(), 20_000).expect("decodes").len(),
            10_000
        );
        assert!(matches!(
            decode(&headers, gz, 5_000),
            Err(HttpError::PayloadTooLarge { .. })
        ));
        assert!(matches!(
            decode(&headers, Bytes::from_static(b"not gzip"), 5_000),
            Err(HttpError::BadRequest(_))
        ));
    }
}
