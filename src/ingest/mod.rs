//! The bounded write queue and the batch writers: the only place with channels and timers on
//! the ingest path.
//!
//! A request's lines are encoded by its handler, then [`IngestQueue::submit`] reserves their
//! size from a byte budget (refused at once when full, so the handler answers 503 instead of
//! queueing invisibly) and hands them to the writers. Each writer takes whatever is waiting
//! (up to `batch_bytes`), writes it in one transaction and answers every request of the batch
//! through its oneshot. Nothing is acknowledged before it is committed.

mod metrics;

pub use metrics::Metrics;

use crate::store::{Job, JobOutcome, Store, StoreError};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch, Mutex, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::task::JoinSet;

/// Why a job was not accepted or not written.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The queue's byte budget is used up: the database is behind.
    #[error("write queue full")]
    QueueFull,
    /// The server is shutting down and takes no new work.
    #[error("shutting down")]
    Closed,
    /// The batch holding the job failed to commit (shared by every job of that batch).
    #[error("write failed: {0}")]
    WriteFailed(Arc<StoreError>),
}

/// The answer a handler awaits: what became of its job once the batch committed.
pub type Ack = oneshot::Receiver<Result<JobOutcome, IngestError>>;

struct Pending {
    job: Job,
    ack: oneshot::Sender<Result<JobOutcome, IngestError>>,
    /// Returned to the budget when the job is answered.
    _permit: OwnedSemaphorePermit,
}

/// The handle handlers submit to; cheap to clone.
#[derive(Clone)]
pub struct IngestQueue {
    tx: mpsc::UnboundedSender<Pending>,
    budget: Arc<Semaphore>,
    capacity: usize,
    metrics: Arc<Metrics>,
}

impl IngestQueue {
    /// Queues a job, or refuses at once when the byte budget cannot hold it.
    pub fn submit(&self, job: Job) -> Result<Ack, IngestError> {
        // A job larger than the whole budget still gets through when the queue is empty.
        let cost = u32::try_from(job.rows.len().clamp(1, self.capacity)).unwrap_or(u32::MAX);
        let permit = match Arc::clone(&self.budget).try_acquire_many_owned(cost) {
            Ok(p) => p,
            Err(TryAcquireError::NoPermits) => return Err(IngestError::QueueFull),
            Err(TryAcquireError::Closed) => return Err(IngestError::Closed),
        };
        let (ack, rx) = oneshot::channel();
        self.tx
            .send(Pending {
                job,
                ack,
                _permit: permit,
            })
            .map_err(|_| IngestError::Closed)?;
        Ok(rx)
    }

    /// Encoded bytes waiting or being written.
    pub fn depth_bytes(&self) -> usize {
        self.capacity - self.budget.available_permits()
    }

    /// Whether a typical body still fits (for `/readyz`).
    pub fn has_room(&self) -> bool {
        !self.budget.is_closed() && self.budget.available_permits() >= self.capacity / 10
    }

    /// The shared counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

/// Settings of the writers.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Byte budget of the queue.
    pub queue_bytes: usize,
    /// Most bytes per transaction.
    pub batch_bytes: usize,
    /// How many writers run at once.
    pub writers: usize,
}

/// Owns the writer tasks; [`Writers::shutdown`] flushes what is queued and waits for them.
pub struct Writers {
    close: watch::Sender<bool>,
    budget: Arc<Semaphore>,
    tasks: JoinSet<()>,
}

/// Starts the writers and returns the queue handlers submit to.
pub fn start(
    store: Store,
    settings: &WriterSettings,
    metrics: Arc<Metrics>,
) -> (IngestQueue, Writers) {
    let capacity = settings
        .queue_bytes
        .min(Semaphore::MAX_PERMITS)
        .min(u32::MAX as usize);
    let budget = Arc::new(Semaphore::new(capacity));
    let (tx, rx) = mpsc::unbounded_channel();
    let rx = Arc::new(Mutex::new(rx));
    let (close, closed) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for _ in 0..settings.writers.max(1) {
        tasks.spawn(writer(
            store.clone(),
            Arc::clone(&rx),
            closed.clone(),
            settings.batch_bytes,
            Arc::clone(&metrics),
        ));
    }
    let queue = IngestQueue {
        tx,
        budget: Arc::clone(&budget),
        capacity,
        metrics,
    };
    (
        queue,
        Writers {
            close,
            budget,
            tasks,
        },
    )
}

impl Writers {
    /// Refuses new jobs, writes everything already queued, and waits for the writers to finish.
    pub async fn shutdown(mut self) {
        self.budget.close();
        let _ = self.close.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn writer(
    store: Store,
    rx: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>,
    mut closed: watch::Receiver<bool>,
    batch_bytes: usize,
    metrics: Arc<Metrics>,
) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let first = if *closed.borrow() {
                rx.try_recv().ok()
            } else {
                tokio::select! {
                    biased;
                    m = rx.recv() => m,
                    _ = closed.changed() => rx.try_recv().ok(),
                }
            };
            let Some(first) = first else { break };
            let mut size = first.job.rows.len();
            let mut batch = vec![first];
            while size < batch_bytes {
                match rx.try_recv() {
                    Ok(p) => {
                        size += p.job.rows.len();
                        batch.push(p);
                    }
                    Err(_) => break,
                }
            }
            batch
        };
        write(&store, batch, &metrics).await;
    }
}

async fn write(store: &Store, batch: Vec<Pending>, metrics: &Metrics) {
    let (jobs, acks): (Vec<Job>, Vec<_>) = batch
        .into_iter()
        .map(|p| (p.job, (p.ack, p._permit)))
        .unzip();
    let started = Instant::now();
    let result = store.write_batch(&jobs).await;
    let elapsed = started.elapsed();
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
            for ((ack, _permit), outcome) in acks.into_iter().zip(outcomes) {
                let _ = ack.send(Ok(outcome));
            }
        }
        Err(e) => {
            metrics.record_failed_batch();
            let unavailable = matches!(e, StoreError::Unavailable(_));
            tracing::warn!(jobs = jobs.len(), unavailable, error = %e, "batch failed; requests answered 503");
            let e = Arc::new(e);
            for (ack, _permit) in acks {
                let _ = ack.send(Err(IngestError::WriteFailed(Arc::clone(&e))));
            }
        }
    }
}
