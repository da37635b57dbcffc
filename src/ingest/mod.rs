//! The bounded, fair write queue and the batch writers: the only place with channels and
//! timers on the ingest path.
//!
//! A request's lines are encoded by its handler, then [`IngestQueue::submit`] reserves their
//! size from the byte budget and from the app's share of it ([`fair`]): refused at once when
//! either is used up, so the handler answers 503 instead of queueing invisibly, and refused for
//! good (413) when the request alone is larger than a share. Each writer takes the next batch,
//! one request from each waiting app in turn (up to `batch_bytes`), writes it in one
//! transaction and answers every request of the batch through its oneshot. Nothing is
//! acknowledged before it is committed, and a busy app's backlog never stands in front of
//! another app's request: one writer is kept from it, and takes the other app's request at once.

mod fair;
mod gate;
mod metrics;

pub use fair::{FairQueue, Refusal};
pub use gate::{Turn, Turns};
pub use metrics::Metrics;

use crate::store::{Job, JobOutcome, Store, StoreError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;

/// Why a job was not accepted or not written.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The queue's byte budget is used up: the database is behind.
    #[error("write queue full")]
    QueueFull,
    /// The job's app already holds its share of the queue.
    #[error("app over its share of the write queue")]
    OverShare,
    /// The app's requests already hold every turn (`LOGDRAIN_APP_CONCURRENCY`) and none came
    /// back in time.
    #[error("app has {0} requests being read and parsed (LOGDRAIN_APP_CONCURRENCY)")]
    Busy(usize),
    /// The job alone is larger than an app's share: it can never be admitted.
    #[error("request needs {cost} bytes of the write queue; one app's share is {share}")]
    TooLarge {
        /// The job's encoded bytes.
        cost: usize,
        /// The per-app share.
        share: usize,
    },
    /// The server is shutting down and takes no new work.
    #[error("shutting down")]
    Closed,
    /// The batch holding the job failed to commit (shared by every job of that batch).
    #[error("write failed: {0}")]
    WriteFailed(Arc<StoreError>),
}

/// The answer a handler awaits: what became of its job once the batch committed.
pub type Ack = oneshot::Receiver<Result<JobOutcome, IngestError>>;

/// A job and the channel that answers its request.
struct Pending {
    job: Job,
    ack: oneshot::Sender<Result<JobOutcome, IngestError>>,
}

/// The queue state shared by handlers and writers.
struct Shared {
    /// The lanes, and whether the queue is closed.
    state: Mutex<State>,
    /// Wakes a writer when a job is queued, or every writer on close.
    work: Notify,
    /// Counters, per-app admissions included.
    metrics: Arc<Metrics>,
    /// Requests of one app read and parsed at once.
    turns: Turns,
}

struct State {
    fair: FairQueue<Pending>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The bytes a job holds in the queue: its encoded rows (at least 1, so empty jobs count).
fn cost(job: &Job) -> usize {
    job.rows.len().max(1)
}

/// The handle handlers submit to; cheap to clone.
#[derive(Clone)]
pub struct IngestQueue {
    shared: Arc<Shared>,
}

impl IngestQueue {
    /// Queues a job, or refuses at once when the budget or the app's share cannot hold it.
    pub fn submit(&self, job: Job) -> Result<Ack, IngestError> {
        let app = job.app_id;
        let (ack, rx) = oneshot::channel();
        let admitted = {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(IngestError::Closed);
            }
            let cost = cost(&job);
            state.fair.admit(app, cost, Pending { job, ack })
        };
        let metrics = &self.shared.metrics;
        match admitted {
            Ok(()) => {
                metrics.record_admission(app, Admission::Admitted);
                self.shared.work.notify_one();
                Ok(rx)
            }
            Err((refusal, _)) => Err(self.refused(app, refusal)),
        }
    }

    /// Waits, until `deadline`, for one of `app`'s turns to read and parse a request; refused
    /// (503) when none came back in time.
    pub async fn turn(
        &self,
        app: i64,
        deadline: tokio::time::Instant,
    ) -> Result<Turn, IngestError> {
        match self.shared.turns.enter(app, deadline).await {
            Some(turn) => Ok(turn),
            None => {
                self.shared.metrics.record_admission(app, Admission::Busy);
                Err(IngestError::Busy(self.shared.turns.per_app()))
            }
        }
    }

    /// Refuses at once, before its body is parsed, a request of an app that already holds its
    /// whole share (`None` when the app may go on).
    pub fn check_share(&self, app: i64) -> Option<IngestError> {
        let over = self.shared.lock().fair.is_over_share(app);
        over.then(|| self.refused(app, Refusal::OverShare))
    }

    fn refused(&self, app: i64, refusal: Refusal) -> IngestError {
        let (admission, error) = match refusal {
            Refusal::TooLarge { cost, share } => {
                (Admission::TooLarge, IngestError::TooLarge { cost, share })
            }
            Refusal::OverShare => (Admission::OverShare, IngestError::OverShare),
            Refusal::Full => (Admission::QueueFull, IngestError::QueueFull),
        };
        self.shared.metrics.record_admission(app, admission);
        error
    }

    /// Encoded bytes waiting or being written.
    pub fn depth_bytes(&self) -> usize {
        self.shared.lock().fair.held()
    }

    /// Encoded bytes waiting or being written, per app id.
    pub fn depth_per_app(&self) -> Vec<(i64, usize)> {
        self.shared.lock().fair.held_per_app()
    }

    /// Whether a typical body still fits (for `/readyz`).
    pub fn has_room(&self) -> bool {
        let state = self.shared.lock();
        let free = state.fair.capacity() - state.fair.held();
        !state.closed && free >= state.fair.capacity() / 10
    }

    /// The shared counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }
}

/// What became of one request at the queue's door, counted per app in `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Admission {
    /// Queued.
    Admitted,
    /// Refused (503): its app held its whole share.
    OverShare,
    /// Refused (503): the whole budget was in use.
    QueueFull,
    /// Refused (503): no turn of its app came back in time.
    Busy,
    /// Refused (413): larger than one app's share.
    TooLarge,
}

impl Admission {
    /// The `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Admission::Admitted => "admitted",
            Admission::OverShare => "over_share",
            Admission::QueueFull => "queue_full",
            Admission::Busy => "busy",
            Admission::TooLarge => "too_large",
        }
    }
}

/// Settings of the writers.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Byte budget of the queue.
    pub queue_bytes: usize,
    /// Bytes one app may hold in the queue.
    pub app_share_bytes: usize,
    /// Most bytes per transaction.
    pub batch_bytes: usize,
    /// How many writers run at once.
    pub writers: usize,
    /// Requests of one app read and parsed at once.
    pub app_concurrency: usize,
}

/// Owns the writer tasks; [`Writers::shutdown`] flushes what is queued and waits for them.
pub struct Writers {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

/// Starts the writers and returns the queue handlers submit to.
pub fn start(
    store: Store,
    settings: &WriterSettings,
    metrics: Arc<Metrics>,
) -> (IngestQueue, Writers) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            fair: FairQueue::new(
                settings.queue_bytes,
                settings.app_share_bytes,
                settings.writers.max(1),
            ),
            closed: false,
        }),
        work: Notify::new(),
        metrics,
        turns: Turns::new(settings.app_concurrency),
    });
    let mut tasks = JoinSet::new();
    for _ in 0..settings.writers.max(1) {
        tasks.spawn(writer(
            store.clone(),
            Arc::clone(&shared),
            settings.batch_bytes,
        ));
    }
    let queue = IngestQueue {
        shared: Arc::clone(&shared),
    };
    (queue, Writers { shared, tasks })
}

impl Writers {
    /// Refuses new jobs, writes everything already queued, and waits for the writers to finish.
    pub async fn shutdown(mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_waiters();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// The next batch to write, waiting for one; `None` once the queue is closed and empty.
async fn next_batch(shared: &Shared, batch_bytes: usize) -> Option<Vec<(i64, usize, Pending)>> {
    loop {
        let notified = shared.work.notified();
        let mut notified = std::pin::pin!(notified);
        // Registered before the check, so a close or a submit between the two is not missed.
        notified.as_mut().enable();
        {
            let mut state = shared.lock();
            let batch = state.fair.take_batch(batch_bytes);
            if !batch.is_empty() {
                if state.fair.has_waiting() {
                    // More is waiting: let another writer start on it now.
                    shared.work.notify_one();
                }
                return Some(batch);
            }
            if state.closed {
                return None;
            }
        }
        notified.await;
    }
}

async fn writer(store: Store, shared: Arc<Shared>, batch_bytes: usize) {
    while let Some(batch) = next_batch(&shared, batch_bytes).await {
        write(&store, batch, &shared).await;
    }
}

/// Writes one batch, gives its bytes back to the queue, then answers its requests (in that
/// order, so an answered sender's next request finds its share free).
async fn write(store: &Store, batch: Vec<(i64, usize, Pending)>, shared: &Shared) {
    let metrics = &shared.metrics;
    let mut held = Vec::with_capacity(batch.len());
    let mut jobs = Vec::with_capacity(batch.len());
    let mut acks = Vec::with_capacity(batch.len());
    for (app, cost, pending) in batch {
        held.push((app, cost));
        jobs.push(pending.job);
        acks.push(pending.ack);
    }
    let started = Instant::now();
    let result = store.write_batch(&jobs).await;
    let elapsed = started.elapsed();
    {
        let mut state = shared.lock();
        state.fair.end_batch(held.iter().map(|(app, _)| *app));
        for (app, cost) in held {
            state.fair.release(app, cost);
        }
        if state.fair.has_waiting() {
            // What this batch's apps still have waiting may be taken again.
            shared.work.notify_one();
        }
    }
    match result {
        Ok(outcomes) => {
            let mut rows = 0u64;
            let mut dupes = 0u64;
            for (job, outcome) in jobs.iter().zip(&outcomes) {
                match outcome {
                    JobOutcome::Stored => rows += u64::from(job.lines),
                    JobOutcome::Duplicate => dupes += 1,
                }
            }
            metrics.record_batch(rows, dupes, elapsed);
            tracing::debug!(
                jobs = jobs.len(),
                rows,
                duplicates = dupes,
                ms = elapsed.as_millis() as u64,
                "batch committed"
            );
            for (ack, outcome) in acks.into_iter().zip(outcomes) {
                let _ = ack.send(Ok(outcome));
            }
        }
        Err(e) => {
            metrics.record_failed_batch();
            let unavailable = matches!(e, StoreError::Unavailable(_));
            tracing::warn!(jobs = jobs.len(), unavailable, error = %e, "batch failed; requests answered 503");
            let e = Arc::new(e);
            for ack in acks {
                let _ = ack.send(Err(IngestError::WriteFailed(Arc::clone(&e))));
            }
        }
    }
}
