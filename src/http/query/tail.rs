//! `GET /api/apps/{app}/tail`: the last `n` matching lines, then new ones as they commit,
//! woken through the shared LISTEN/NOTIFY path (`store::notify`).

use super::{now_us, AppRequest};
use crate::http::error::HttpError;
use crate::http::AppState;
use crate::query::format;
use crate::query::params::{Format, LogQuery, DEFAULT_TAIL_LINES};
use crate::store::filter::LogFilter;
use crate::store::notify::ALL_APPS;
use crate::store::read::LineRow;
use crate::store::StoreError;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

/// How often a tail looks for new lines when no notification came (a safety net).
const TAIL_POLL: Duration = Duration::from_secs(5);
/// Lines a tail fetches per wake-up.
const TAIL_BATCH: i64 = 1_000;
/// A line id allocated this long ago is assumed committed (writers commit within seconds), so
/// a tail stops looking below it.
const TAIL_SETTLE: Duration = Duration::from_secs(30);
/// Most sent ids a tail excludes by id in its query.
const TAIL_EXCLUDE_MAX: usize = 5_000;
/// Smallest interval between two reads of one tail (notifications are coalesced).
const TAIL_MIN_INTERVAL: Duration = Duration::from_millis(100);

/// `GET /api/apps/{app}/tail`: the last `n` matching lines, then new ones as they commit.
pub async fn tail(State(state): State<AppState>, req: AppRequest) -> Result<Response, HttpError> {
    let app_id = req.app_id;
    let app = req.app.clone();
    let LogQuery { mut filter, format } = req.log_query(DEFAULT_TAIL_LINES)?;
    filter.cursor = None;
    let format = format.unwrap_or(Format::Text);
    // Subscribe before reading the backlog so nothing committed in between is missed.
    let woken = state.tails.subscribe();
    let stopping = state.tails.stopping();
    let floor = state.store.max_line_id().await?;
    let mut backlog = state.store.lines_page(app_id, &filter).await?.lines;
    backlog.reverse();

    let mut first = Vec::new();
    let mut seen = HashSet::new();
    for row in &backlog {
        seen.insert(row.id);
        write_line(&mut first, row, &app, format);
    }
    if format == Format::Sse {
        first.extend_from_slice(b": tail started\n\n");
    }
    let tail = Tail {
        state,
        app,
        app_id,
        filter,
        format,
        woken,
        stopping,
        floor,
        seen,
        marks: VecDeque::new(),
        pending: Some(Bytes::from(first)),
        last_read: Instant::now() - TAIL_MIN_INTERVAL,
    };
    let stream = futures_util::stream::unfold(tail, |mut t| async move {
        let chunk = t.next_chunk().await?;
        Some((Ok::<_, std::io::Error>(chunk), t))
    });
    let content_type = match format {
        Format::Sse => "text/event-stream",
        Format::Ndjson | Format::Json => "application/x-ndjson",
        Format::Text => "text/plain; charset=utf-8",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

fn write_line(out: &mut Vec<u8>, row: &LineRow, app: &str, format: Format) {
    match format {
        Format::Text => format::push_text(out, row),
        Format::Json | Format::Ndjson => format::push_ndjson(out, row, app),
        Format::Sse => format::push_sse(out, row, app),
    }
}

/// One open tail: wakes on notifications for its app (or every [`TAIL_POLL`]), reads the
/// matching lines it has not sent, and ends when the client goes or the server stops.
struct Tail {
    state: AppState,
    app: String,
    app_id: i64,
    filter: LogFilter,
    format: Format,
    woken: tokio::sync::broadcast::Receiver<i64>,
    stopping: tokio::sync::watch::Receiver<bool>,
    /// Every line at or below this id was sent or did not match.
    floor: i64,
    /// Ids above `floor` already sent.
    seen: HashSet<i64>,
    /// (when, highest id then): `floor` advances to marks older than [`TAIL_SETTLE`].
    marks: VecDeque<(Instant, i64)>,
    /// The backlog, sent first.
    pending: Option<Bytes>,
    last_read: Instant,
}

impl Tail {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(first) = self.pending.take() {
            if !first.is_empty() {
                return Some(first);
            }
        }
        loop {
            if *self.stopping.borrow() {
                return None;
            }
            let keepalive = tokio::select! {
                w = self.woken.recv() => match w {
                    Ok(app) => app != self.app_id && app != ALL_APPS,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => false,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep(TAIL_POLL) => true,
                _ = self.stopping.changed() => return None,
            };
            if keepalive {
                if self.format == Format::Sse {
                    return Some(Bytes::from_static(b": keepalive\n\n"));
                }
                // Poll anyway now and then, in case a notification was lost.
                if self.last_read.elapsed() < TAIL_POLL {
                    continue;
                }
            }
            let wait = TAIL_MIN_INTERVAL.saturating_sub(self.last_read.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            self.last_read = Instant::now();
            let out = match self.read_new().await {
                Ok(out) => out,
                Err(e) => {
                    tracing::warn!(error = %e, "tail: read failed; will retry");
                    continue;
                }
            };
            if !out.is_empty() {
                return Some(Bytes::from(out));
            }
        }
    }

    async fn read_new(&mut self) -> Result<Vec<u8>, StoreError> {
        let store = &self.state.store;
        let top = store.max_line_id().await?;
        let now = Instant::now();
        self.marks.push_back((now, top));
        while let Some(&(at, id)) = self.marks.front() {
            if now.duration_since(at) < TAIL_SETTLE {
                break;
            }
            self.floor = self.floor.max(id);
            self.marks.pop_front();
        }
        let floor = self.floor;
        self.seen.retain(|&id| id > floor);
        let received_since = now_us() - 600_000_000;
        // Lines above the floor not sent yet: excluded by id while that list is short; past
        // that, only lines above the newest one sent.
        let (after, exclude): (i64, Vec<i64>) = if self.seen.len() <= TAIL_EXCLUDE_MAX {
            (floor, self.seen.iter().copied().collect())
        } else {
            (self.seen.iter().copied().max().unwrap_or(floor), Vec::new())
        };
        let mut out = Vec::new();
        let rows = store
            .lines_after(
                self.app_id,
                &self.filter,
                after,
                &exclude,
                received_since,
                TAIL_BATCH,
            )
            .await?;
        for row in rows {
            if self.seen.insert(row.id) {
                write_line(&mut out, &row, &self.app, self.format);
            }
        }
        Ok(out)
    }
}
