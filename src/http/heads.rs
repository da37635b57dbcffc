//! Slow clients, bounded apart from keep-alive (the connection layer, beside `server.rs`): a
//! request head must be complete `LOGDRAIN_HEAD_TIMEOUT` after its first byte, and at most
//! `LOGDRAIN_MAX_PENDING_HEADS` connections may be waiting to complete one; past that the
//! oldest of them is closed. Idle keep-alive between requests (Logplex's connections) is
//! bounded by `LOGDRAIN_IDLE_TIMEOUT` alone.
//!
//! Each connection has a [`HeadWatch`]: the bytes it reads ([`Watched`]) and the requests its
//! service starts and finishes move it between *pending* (no complete head yet: new, or a head
//! under way), *busy* (a request is running) and *idle* (between requests).

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The connections waiting to complete a request head, oldest first; shared by all of them.
#[derive(Debug)]
pub struct PendingHeads {
    /// How many may wait at once.
    limit: usize,
    /// Ticket counter and the waiting connections' eviction signals, by ticket (oldest first).
    inner: Mutex<(u64, BTreeMap<u64, Arc<Notify>>)>,
}

impl PendingHeads {
    /// At most `limit` connections may wait to complete a head.
    pub fn new(limit: usize) -> Arc<PendingHeads> {
        Arc::new(PendingHeads {
            limit: limit.max(1),
            inner: Mutex::new((0, BTreeMap::new())),
        })
    }

    fn lock(&self) -> MutexGuard<'_, (u64, BTreeMap<u64, Arc<Notify>>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a waiting connection; when that makes one too many, the oldest is told to close.
    fn register(&self, evict: &Arc<Notify>) -> u64 {
        let mut inner = self.lock();
        let ticket = inner.0;
        inner.0 += 1;
        inner.1.insert(ticket, Arc::clone(evict));
        while inner.1.len() > self.limit {
            if let Some((_, oldest)) = inner.1.pop_first() {
                oldest.notify_one();
            }
        }
        ticket
    }

    fn unregister(&self, ticket: u64) {
        self.lock().1.remove(&ticket);
    }

    /// Connections waiting to complete a head right now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().1.len()
    }
}

/// Where one connection is between request heads.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No complete head yet (a new connection, or a head under way after an idle spell):
    /// registered under `ticket`; `since` is when its first byte arrived.
    Pending { ticket: u64, since: Option<Instant> },
    /// A head is complete and its request is being served.
    Busy,
    /// Between requests: keep-alive.
    Idle,
}

/// One connection's head tracking.
#[derive(Debug)]
pub struct HeadWatch {
    heads: Arc<PendingHeads>,
    phase: Mutex<Phase>,
    /// Told when this connection is the oldest of too many pending ones.
    evict: Arc<Notify>,
    /// Told when a head's first byte arrives, so the deadline is armed.
    started: Notify,
}

impl HeadWatch {
    /// A new connection: pending until its first head is complete.
    pub fn new(heads: &Arc<PendingHeads>) -> Arc<HeadWatch> {
        let evict = Arc::new(Notify::new());
        let ticket = heads.register(&evict);
        Arc::new(HeadWatch {
            heads: Arc::clone(heads),
            phase: Mutex::new(Phase::Pending {
                ticket,
                since: None,
            }),
            evict,
            started: Notify::new(),
        })
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived: the first byte of a head starts its deadline.
    fn bytes_arrived(&self) {
        let mut phase = self.phase();
        match *phase {
            Phase::Pending {
                ticket,
                since: None,
            } => {
                *phase = Phase::Pending {
                    ticket,
                    since: Some(Instant::now()),
                };
            }
            Phase::Idle => {
                let ticket = self.heads.register(&self.evict);
                *phase = Phase::Pending {
                    ticket,
                    since: Some(Instant::now()),
                };
            }
            Phase::Pending { .. } | Phase::Busy => return,
        }
        drop(phase);
        self.started.notify_one();
    }

    /// The service got a complete head.
    pub fn head_complete(&self) {
        let mut phase = self.phase();
        if let Phase::Pending { ticket, .. } = *phase {
            self.heads.unregister(ticket);
        }
        *phase = Phase::Busy;
    }

    /// The service produced its response; the connection is idle until the next head.
    pub fn response_ready(&self) {
        *self.phase() = Phase::Idle;
    }

    /// When the head under way must be complete, if one is under way.
    fn deadline(&self, head_timeout: Duration) -> Option<Instant> {
        match *self.phase() {
            Phase::Pending {
                since: Some(since), ..
            } => Some(since + head_timeout),
            _ => None,
        }
    }

    /// Resolves when the connection must be closed: its head is late, or it is the oldest of
    /// too many pending ones. Returns which.
    pub async fn must_close(&self, head_timeout: Duration) -> &'static str {
        loop {
            let sleep = async {
                match self.deadline(head_timeout) {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.evict.notified() => {
                    // Chosen while pending; a head that completed since then is served.
                    if matches!(*self.phase(), Phase::Pending { .. }) {
                        return "too many connections without a complete request head";
                    }
                }
                _ = self.started.notified() => continue,
                _ = sleep => {
                    if self.deadline(head_timeout).is_some_and(|at| at <= Instant::now()) {
                        return "request head not complete within LOGDRAIN_HEAD_TIMEOUT";
                    }
                }
            }
        }
    }
}

impl Drop for HeadWatch {
    fn drop(&mut self) {
        if let Phase::Pending { ticket, .. } = *self.phase() {
            self.heads.unregister(ticket);
        }
    }
}

/// A connection's byte stream, telling its [`HeadWatch`] when bytes arrive.
#[derive(Debug)]
pub struct Watched<I> {
    io: I,
    watch: Arc<HeadWatch>,
}

impl<I> Watched<I> {
    /// Wraps `io`.
    pub fn new(io: I, watch: Arc<HeadWatch>) -> Watched<I> {
        Watched { io, watch }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.bytes_arrived();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_the_oldest_pending_connection_is_told_to_close() {
        let heads = PendingHeads::new(2);
        let first = HeadWatch::new(&heads);
        let second = HeadWatch::new(&heads);
        assert_eq!(heads.waiting(), 2);
        let _third = HeadWatch::new(&heads);
        assert_eq!(heads.waiting(), 2);
        // The oldest got the signal (a stored permit), the second did not.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let closed = tokio::time::timeout(
                Duration::from_millis(50),
                first.must_close(Duration::from_secs(10)),
            )
            .await;
            assert!(closed.is_ok());
            let open = tokio::time::timeout(
                Duration::from_millis(50),
                second.must_close(Duration::from_secs(10)),
            )
            .await;
            assert!(open.is_err());
        });
    }

    #[test]
    fn a_complete_head_leaves_the_pending_set_and_an_idle_connection_has_no_deadline() {
        let heads = PendingHeads::new(8);
        let watch = HeadWatch::new(&heads);
        assert_eq!(watch.deadline(Duration::from_secs(10)), None);
        watch.bytes_arrived();
        assert!(watch.deadline(Duration::from_secs(10)).is_some());
        watch.head_complete();
        assert_eq!(heads.waiting(), 0);
        assert_eq!(watch.deadline(Duration::from_secs(10)), None);
        watch.response_ready();
        assert_eq!(watch.deadline(Duration::from_secs(10)), None);
        watch.bytes_arrived();
        assert_eq!(heads.waiting(), 1, "the next head is pending again");
        drop(watch);
        assert_eq!(heads.waiting(), 0);
    }
}
