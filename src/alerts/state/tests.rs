use super::*;

const S: i64 = 1_000_000;

fn ok() -> Status {
    Status {
        state: State::Ok,
        since_us: 0,
        notified: None,
        notified_at_us: None,
    }
}

fn timing(for_s: i64) -> Timing {
    Timing {
        for_us: for_s * S,
        remind_us: None,
        snoozed_until_us: None,
    }
}

/// Runs observations one second apart from t = 1 s; returns the notices and the last status.
fn run(start: Status, t: &Timing, breaches: &[bool]) -> (Vec<(i64, Notice)>, Status) {
    let mut cur = start;
    let mut notices = Vec::new();
    for (i, b) in breaches.iter().enumerate() {
        let now = (i as i64 + 1) * S;
        let s = step(&cur, *b, t, now);
        if let Some(n) = s.notice {
            notices.push((i as i64 + 1, n));
        }
        cur = s.next;
    }
    (notices, cur)
}

#[test]
fn a_breach_fires_once_and_resolves_once() {
    let (notices, last) = run(ok(), &timing(0), &[true, true, true, false, false]);
    assert_eq!(notices, vec![(1, Notice::Firing), (4, Notice::Resolved)]);
    assert_eq!(last.state, State::Resolved);
}

#[test]
fn a_breach_shorter_than_for_never_fires() {
    let (notices, last) = run(ok(), &timing(3), &[true, true, false, true, false]);
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(last.state, State::Ok);
}

#[test]
fn a_breach_that_lasts_for_fires_after_it() {
    let (notices, _) = run(ok(), &timing(2), &[true, true, true, true, false]);
    assert_eq!(notices, vec![(3, Notice::Firing), (5, Notice::Resolved)]);
}

#[test]
fn reminders_repeat_while_firing() {
    let t = Timing {
        remind_us: Some(2 * S),
        ..timing(0)
    };
    let (notices, _) = run(ok(), &t, &[true, true, true, true, true, false]);
    assert_eq!(
        notices,
        vec![
            (1, Notice::Firing),
            (3, Notice::Reminder),
            (5, Notice::Reminder),
            (6, Notice::Resolved)
        ]
    );
}

#[test]
fn a_snoozed_rule_changes_state_but_stays_quiet() {
    let t = Timing {
        snoozed_until_us: Some(10 * S),
        ..timing(0)
    };
    let (notices, last) = run(ok(), &t, &[true, true, false, true]);
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(last.state, State::Firing);
}

#[test]
fn a_rule_still_firing_when_its_snooze_ends_is_announced_then() {
    let t = Timing {
        snoozed_until_us: Some(3 * S),
        ..timing(0)
    };
    let (notices, _) = run(ok(), &t, &[true, true, true, true, false]);
    assert_eq!(notices, vec![(3, Notice::Firing), (5, Notice::Resolved)]);
}

#[test]
fn a_resolution_during_a_snooze_is_announced_when_it_ends() {
    let t = Timing {
        snoozed_until_us: Some(3 * S),
        ..timing(0)
    };
    let firing = Status {
        state: State::Firing,
        since_us: 0,
        notified: Some(State::Firing),
        notified_at_us: Some(0),
    };
    let (notices, _) = run(firing, &t, &[false, false, false]);
    assert_eq!(notices, vec![(3, Notice::Resolved)]);
}
