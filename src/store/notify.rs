//! One shared notification path for every live tail: a single `LISTEN logdrain_lines`
//! connection per process, fanned out in memory. Writers `NOTIFY` inside their commit, so a
//! tail wakes for lines written by this process or any other sharing the database.

use super::{Store, LINES_CHANNEL};
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// App id meaning "re-check every app" (sent after the listener reconnects, since
/// notifications sent while it was away are lost).
pub const ALL_APPS: i64 = 0;

/// The in-process side of the notification path.
#[derive(Clone, Debug)]
pub struct Tails {
    /// App ids with newly committed lines.
    woken: broadcast::Sender<i64>,
    /// Flips to `true` when the server stops: open tails end their responses.
    stopping: watch::Receiver<bool>,
}

/// Stops the listener and ends every tail.
#[derive(Debug)]
pub struct TailsStop {
    stop: watch::Sender<bool>,
}

impl TailsStop {
    /// Ends the tails (called at the start of shutdown, so streams do not hold it up).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Tails {
    /// Starts the listener task.
    pub fn start(store: Store) -> (Tails, TailsStop) {
        let (woken, _) = broadcast::channel(1024);
        let (stop, stopping) = watch::channel(false);
        let tails = Tails {
            woken: woken.clone(),
            stopping: stopping.clone(),
        };
        tokio::spawn(listen(store, woken, stopping));
        (tails, TailsStop { stop })
    }

    /// A receiver of woken app ids.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.woken.subscribe()
    }

    /// A receiver of the stop flag.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.clone()
    }
}

async fn listen(store: Store, woken: broadcast::Sender<i64>, mut stopping: watch::Receiver<bool>) {
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(store.pool()).await?;
            listener.listen(LINES_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            r = connected => match r {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "tail listener: cannot listen; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = stopping.changed() => return,
                    }
                }
            },
            _ = stopping.changed() => return,
        };
        let _ = woken.send(ALL_APPS);
        loop {
            tokio::select! {
                n = listener.recv() => match n {
                    Ok(n) => {
                        if let Ok(app) = n.payload().parse::<i64>() {
                            let _ = woken.send(app);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "tail listener: connection lost; reconnecting");
                        break;
                    }
                },
                _ = stopping.changed() => return,
            }
        }
    }
}
