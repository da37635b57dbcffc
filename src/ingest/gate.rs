//! Turns per app: how many of one app's requests may be read and parsed at once. Parsing is
//! the CPU-heavy part of a request, and the write queue's shares only bound what an app has
//! *waiting for the database*; without turns, one app with hundreds of connections keeps every
//! core parsing its bodies and another app's small request waits behind them for CPU. With
//! turns, an app's extra requests wait (costing nothing: their bodies are not read yet) and the
//! others find a turn of their own at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The turns of every app that has sent a request.
#[derive(Debug)]
pub struct Turns {
    /// Turns per app.
    per_app: usize,
    gates: Mutex<HashMap<i64, Arc<Semaphore>>>,
}

/// A turn: the holder may read and parse its request's body; dropped when it has (its job is
/// then in the write queue, bounded by the app's share there).
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

impl Turns {
    /// `per_app` requests of one app may be read and parsed at once (at least one).
    pub fn new(per_app: usize) -> Turns {
        Turns {
            per_app: per_app.max(1),
            gates: Mutex::new(HashMap::new()),
        }
    }

    /// Turns per app.
    pub fn per_app(&self) -> usize {
        self.per_app
    }

    /// Waits for a turn of `app` until `deadline`; `None` when none came in time.
    pub async fn enter(&self, app: i64, deadline: Instant) -> Option<Turn> {
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                gates
                    .entry(app)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_app))),
            )
        };
        match tokio::time::timeout_at(deadline, gate.acquire_owned()).await {
            Ok(Ok(permit)) => Some(Turn { _permit: permit }),
            // The semaphore is never closed; a timeout is the only way out.
            Ok(Err(_)) | Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn an_app_waits_for_its_own_turns_only() {
        let turns = Turns::new(2);
        let soon = || Instant::now() + Duration::from_millis(50);
        let a1 = turns.enter(1, soon()).await.expect("first turn");
        let _a2 = turns.enter(1, soon()).await.expect("second turn");
        assert!(
            turns.enter(1, soon()).await.is_none(),
            "a third waits, then gives up"
        );
        assert!(
            turns.enter(2, soon()).await.is_some(),
            "another app is not held up"
        );
        drop(a1);
        assert!(
            turns.enter(1, soon()).await.is_some(),
            "a turn given back is taken"
        );
    }
}
