//! PURE: a rule's state machine. Each round gives it one observation (breaching or not) and
//! the time; it answers the next state and whether to notify. Notifications follow what was
//! last announced, not every state change: a firing rule notifies once, then once when it
//! resolves (plus reminders when asked), and a snoozed rule notifies nothing; after a snooze,
//! a rule still firing that was never announced is announced.

/// A rule's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not breaching (or never evaluated).
    Ok,
    /// Breaching, for less than the rule's `for`.
    Pending,
    /// Breaching for at least `for`.
    Firing,
    /// Was firing, no longer breaching.
    Resolved,
}

impl State {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Pending => "pending",
            State::Firing => "firing",
            State::Resolved => "resolved",
        }
    }

    /// Reads [`State::as_str`]'s form.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "ok" => State::Ok,
            "pending" => State::Pending,
            "firing" => State::Firing,
            "resolved" => State::Resolved,
            _ => return None,
        })
    }
}

/// What a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The rule started firing.
    Firing,
    /// The rule stopped firing.
    Resolved,
    /// The rule is still firing (`remind`).
    Reminder,
}

impl Notice {
    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Firing => "firing",
            Notice::Resolved => "resolved",
            Notice::Reminder => "reminder",
        }
    }
}

/// What a rule's row says about it, in microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Current state.
    pub state: State,
    /// When it was entered.
    pub since_us: i64,
    /// What the last notification announced: `Firing` or `Resolved` (None: nothing yet).
    pub notified: Option<State>,
    /// When the last notification (or reminder) was queued.
    pub notified_at_us: Option<i64>,
}

/// The rule's timing settings, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a breach must last before firing.
    pub for_us: i64,
    /// Reminder interval while firing.
    pub remind_us: Option<i64>,
    /// No notification before this time.
    pub snoozed_until_us: Option<i64>,
}

/// One round's result for one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The status to store.
    pub next: Status,
    /// The notification to queue, if any.
    pub notice: Option<Notice>,
}

impl Step {
    /// Whether anything beyond the value has to be written.
    pub fn changed(&self, from: &Status) -> bool {
        self.next != *from
    }
}

/// Advances `cur` by one observation at `now_us`.
pub fn step(cur: &Status, breach: bool, timing: &Timing, now_us: i64) -> Step {
    let pending_long_enough = |since: i64| now_us.saturating_sub(since) >= timing.for_us;
    let (state, since_us) = match (cur.state, breach) {
        (State::Ok | State::Resolved, true) if timing.for_us <= 0 => (State::Firing, now_us),
        (State::Ok | State::Resolved, true) => (State::Pending, now_us),
        (State::Pending, true) if pending_long_enough(cur.since_us) => (State::Firing, now_us),
        (State::Pending, false) => (State::Ok, now_us),
        (State::Firing, false) => (State::Resolved, now_us),
        (s, _) => (s, cur.since_us),
    };
    let snoozed = timing.snoozed_until_us.is_some_and(|u| u > now_us);
    let announced_firing = cur.notified == Some(State::Firing);
    let notice = match state {
        _ if snoozed => None,
        State::Firing if !announced_firing => Some(Notice::Firing),
        State::Firing => timing
            .remind_us
            .filter(|r| now_us.saturating_sub(cur.notified_at_us.unwrap_or(i64::MIN)) >= *r)
            .map(|_| Notice::Reminder),
        State::Resolved | State::Ok if announced_firing => Some(Notice::Resolved),
        _ => None,
    };
    let (notified, notified_at_us) = match notice {
        Some(Notice::Firing | Notice::Reminder) => (Some(State::Firing), Some(now_us)),
        Some(Notice::Resolved) => (Some(State::Resolved), Some(now_us)),
        None => (cur.notified, cur.notified_at_us),
    };
    Step {
        next: Status {
            state,
            since_us,
            notified,
            notified_at_us,
        },
        notice,
    }
}

#[cfg(test)]
mod tests;
