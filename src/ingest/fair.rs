//! The write queue's bookkeeping, pure (no channels, no clocks): a global byte budget, a byte
//! share per app, and batches taken round-robin across apps, so that one app's backlog never
//! stands in front of another app's request.
//!
//! An app is written by at most `writers - 1` writers at once (at least one), so with two or
//! more writers one is always free for the other apps: a busy app's long batch never makes a
//! quiet app's request wait for a writer. And a batch never takes an app that another writer
//! is writing, so it never waits on that app's counter row either.
//!
//! Bytes are reserved when a request is admitted and given back when its batch has been
//! answered ([`FairQueue::release`]), so an app's share covers what it has waiting *and* what
//! is being written for it.

use std::collections::{HashMap, VecDeque};

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request alone needs more than one app's share: no retry can ever fit it.
    TooLarge {
        /// The request's encoded bytes.
        cost: usize,
        /// The per-app share.
        share: usize,
    },
    /// Its app already has its share waiting or being written; the app should retry later.
    OverShare,
    /// The whole budget is in use (several apps at once are ahead of the database).
    Full,
}

/// One app's waiting items and the bytes it holds.
#[derive(Debug)]
struct Lane<T> {
    /// Admitted and not yet taken into a batch, oldest first, with their cost.
    waiting: VecDeque<(usize, T)>,
    /// Bytes admitted and not yet released: waiting plus being written.
    held: usize,
}

/// Per-app lanes under one byte budget; `T` is whatever travels with a request (its job and
/// the channel that answers it).
#[derive(Debug)]
pub struct FairQueue<T> {
    /// Bytes all apps together may hold.
    capacity: usize,
    /// Bytes one app may hold.
    share: usize,
    /// Bytes held by all apps.
    held: usize,
    /// Apps that hold bytes.
    lanes: HashMap<i64, Lane<T>>,
    /// Apps with waiting items, in the order their turn comes.
    turns: VecDeque<i64>,
    /// Batches being written per app.
    writing: HashMap<i64, usize>,
    /// Most batches one app may have being written at once.
    writers_per_app: usize,
}

impl<T> FairQueue<T> {
    /// A queue of `capacity` bytes in which one app may hold at most `share` of them, written
    /// by `writers` writers.
    pub fn new(capacity: usize, share: usize, writers: usize) -> FairQueue<T> {
        FairQueue {
            capacity,
            share: share.min(capacity).max(1),
            held: 0,
            lanes: HashMap::new(),
            turns: VecDeque::new(),
            writing: HashMap::new(),
            writers_per_app: writers.saturating_sub(1).max(1),
        }
    }

    /// Reserves `cost` bytes for `app` and queues `item`, or says why not (handing it back).
    pub fn admit(&mut self, app: i64, cost: usize, item: T) -> Result<(), (Refusal, T)> {
        if cost > self.share {
            let share = self.share;
            return Err((Refusal::TooLarge { cost, share }, item));
        }
        if self.held_by(app) + cost > self.share {
            return Err((Refusal::OverShare, item));
        }
        if self.held + cost > self.capacity {
            return Err((Refusal::Full, item));
        }
        let lane = self.lanes.entry(app).or_insert_with(|| Lane {
            waiting: VecDeque::new(),
            held: 0,
        });
        if lane.waiting.is_empty() {
            self.turns.push_back(app);
        }
        lane.waiting.push_back((cost, item));
        lane.held += cost;
        self.held += cost;
        Ok(())
    }

    /// Whether `app` holds its whole share already (checked before a body is parsed, so an app
    /// over its share costs no parsing).
    pub fn is_over_share(&self, app: i64) -> bool {
        self.held_by(app) >= self.share
    }

    /// The next batch: one item from each app in turn, until `max_bytes` is reached (the first
    /// item is taken whatever its size), leaving out apps that are being written by as many
    /// writers as they may use. Items come with their app and cost, for
    /// [`FairQueue::release`]; the batch's apps count as being written until
    /// [`FairQueue::end_batch`].
    pub fn take_batch(&mut self, max_bytes: usize) -> Vec<(i64, usize, T)> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut apps: Vec<i64> = Vec::new();
        let mut skipped = Vec::new();
        while let Some(app) = self.turns.pop_front() {
            if !apps.contains(&app)
                && self.writing.get(&app).copied().unwrap_or(0) >= self.writers_per_app
            {
                skipped.push(app);
                continue;
            }
            let Some(lane) = self.lanes.get_mut(&app) else {
                continue;
            };
            let Some((cost, item)) = lane.waiting.pop_front() else {
                continue;
            };
            if !batch.is_empty() && bytes + cost > max_bytes {
                lane.waiting.push_front((cost, item));
                self.turns.push_front(app);
                break;
            }
            bytes += cost;
            batch.push((app, cost, item));
            if !apps.contains(&app) {
                apps.push(app);
            }
            if !lane.waiting.is_empty() {
                self.turns.push_back(app);
            }
            if bytes >= max_bytes {
                break;
            }
        }
        // The apps left out keep their turn.
        for app in skipped.into_iter().rev() {
            self.turns.push_front(app);
        }
        for app in apps {
            *self.writing.entry(app).or_default() += 1;
        }
        batch
    }

    /// A batch taken by [`FairQueue::take_batch`] is written: its apps may be taken again.
    pub fn end_batch(&mut self, apps: impl IntoIterator<Item = i64>) {
        let mut seen = Vec::new();
        for app in apps {
            if seen.contains(&app) {
                continue;
            }
            seen.push(app);
            if let Some(n) = self.writing.get_mut(&app) {
                *n -= 1;
                if *n == 0 {
                    self.writing.remove(&app);
                }
            }
        }
    }

    /// Gives back the bytes of an answered item.
    pub fn release(&mut self, app: i64, cost: usize) {
        self.held = self.held.saturating_sub(cost);
        if let Some(lane) = self.lanes.get_mut(&app) {
            lane.held = lane.held.saturating_sub(cost);
            if lane.held == 0 && lane.waiting.is_empty() {
                self.lanes.remove(&app);
            }
        }
    }

    /// Whether any item waits for a batch.
    pub fn has_waiting(&self) -> bool {
        !self.turns.is_empty()
    }

    /// Bytes held by every app: waiting or being written.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Bytes held by one app.
    pub fn held_by(&self, app: i64) -> usize {
        self.lanes.get(&app).map_or(0, |lane| lane.held)
    }

    /// Bytes held per app, for `/metrics`.
    pub fn held_per_app(&self) -> Vec<(i64, usize)> {
        let mut apps: Vec<(i64, usize)> = self.lanes.iter().map(|(a, l)| (*a, l.held)).collect();
        apps.sort_unstable();
        apps
    }

    /// The total budget.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_over_its_share_is_refused_while_another_app_is_admitted() {
        let mut q = FairQueue::new(100, 40, 2);
        assert!(q.admit(1, 30, "a1").is_ok());
        assert_eq!(q.admit(1, 20, "a2"), Err((Refusal::OverShare, "a2")));
        assert_eq!(q.held_by(1), 30);
        assert!(!q.is_over_share(1));
        assert!(q.admit(2, 40, "b1").is_ok());
        assert!(q.is_over_share(2));
        // The budget: 30 + 40 + 31 > 100.
        assert_eq!(q.admit(3, 31, "c1"), Err((Refusal::Full, "c1")));
        assert_eq!(
            q.admit(4, 41, "d1"),
            Err((
                Refusal::TooLarge {
                    cost: 41,
                    share: 40
                },
                "d1"
            ))
        );
    }

    #[test]
    fn batches_take_one_item_per_app_in_turn() {
        let mut q = FairQueue::new(1000, 1000, 1);
        for i in 0..5 {
            q.admit(1, 10, ("flood", i)).expect("admit");
        }
        q.admit(2, 10, ("quiet", 0)).expect("admit");
        let batch: Vec<_> = q.take_batch(30).into_iter().map(|(_, _, t)| t).collect();
        assert_eq!(batch, [("flood", 0), ("quiet", 0), ("flood", 1)]);
        q.end_batch([1, 2]);
        let rest: Vec<_> = q.take_batch(1000).into_iter().map(|(_, _, t)| t).collect();
        assert_eq!(rest, [("flood", 2), ("flood", 3), ("flood", 4)]);
        assert!(!q.has_waiting());
    }

    #[test]
    fn a_late_app_is_in_the_next_batch_however_long_the_backlog() {
        let mut q = FairQueue::new(10_000, 10_000, 1);
        for i in 0..100 {
            q.admit(1, 50, i).expect("admit");
        }
        let first = q.take_batch(500);
        q.end_batch(first.iter().map(|(a, _, _)| *a));
        q.admit(2, 50, 1000).expect("admit");
        let next: Vec<_> = q.take_batch(500).into_iter().map(|(a, _, _)| a).collect();
        assert!(next.contains(&2), "{next:?}");
    }

    #[test]
    fn a_busy_app_leaves_a_writer_free_for_the_others() {
        let mut q = FairQueue::new(10_000, 10_000, 2);
        for i in 0..10 {
            q.admit(1, 100, i).expect("admit");
        }
        let first = q.take_batch(300);
        assert_eq!(first.len(), 3);
        // The busy app is being written: the second writer finds nothing of it to take...
        assert!(q.take_batch(300).is_empty());
        assert!(q.has_waiting());
        // ...and so takes the quiet app's request at once, alone.
        q.admit(2, 10, 99).expect("admit");
        let second: Vec<_> = q
            .take_batch(300)
            .into_iter()
            .map(|(a, _, t)| (a, t))
            .collect();
        assert_eq!(second, [(2, 99)]);
        q.end_batch([1]);
        let third: Vec<_> = q.take_batch(300).into_iter().map(|(a, _, _)| a).collect();
        assert_eq!(third, [1, 1, 1]);
    }

    #[test]
    fn bytes_are_held_until_released_and_then_admit_again() {
        let mut q = FairQueue::new(100, 50, 2);
        q.admit(1, 50, ()).expect("admit");
        let batch = q.take_batch(100);
        assert_eq!(batch.len(), 1);
        assert_eq!(q.admit(1, 1, ()), Err((Refusal::OverShare, ())));
        q.release(1, 50);
        assert_eq!(q.held(), 0);
        assert!(q.held_per_app().is_empty());
        assert!(q.admit(1, 50, ()).is_ok());
    }

    #[test]
    fn an_item_larger_than_a_batch_is_taken_alone() {
        let mut q = FairQueue::new(1000, 1000, 1);
        q.admit(1, 700, "big").expect("admit");
        q.admit(2, 10, "small").expect("admit");
        let first: Vec<_> = q.take_batch(100).into_iter().map(|(_, _, t)| t).collect();
        assert_eq!(first, ["big"]);
        q.end_batch([1]);
        let second: Vec<_> = q.take_batch(100).into_iter().map(|(_, _, t)| t).collect();
        assert_eq!(second, ["small"]);
    }
}
