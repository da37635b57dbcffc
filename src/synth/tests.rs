#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use super::*;
use crate::logplex::{frames, parse, timestamp, Frame, DEFAULT_MAX_FRAME_LEN};

fn messages(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut corpus = Corpus::new(seed);
    (0..n)
        .map(|_| {
            let mut out = Vec::new();
            corpus.next_message(&mut out);
            out
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    assert_eq!(messages(7, 500), messages(7, 500));
    assert_ne!(messages(7, 50), messages(8, 50));
}

#[test]
fn the_default_start_is_the_first_of_november_2026() {
    assert_eq!(
        timestamp::parse_micros(b"2026-11-01T10:00:00Z"),
        Some(DEFAULT_START_US)
    );
}

#[test]
fn every_message_is_a_logplex_line_with_advancing_time() {
    let mut previous = DEFAULT_START_US;
    for raw in messages(1, 20_000) {
        let message = parse(&raw).unwrap();
        assert_eq!(message.hostname, b"host");
        assert_eq!(message.msgid, b"-");
        let now = message.timestamp.unwrap();
        assert!(
            now >= previous - 1_000_000,
            "{}",
            String::from_utf8_lossy(&raw)
        );
        previous = previous.max(now);
        let postgres = message.procid == b"heroku-postgres";
        assert_eq!(message.trailing_lf, !postgres);
        assert!(!message.msg.contains(&b'\n'));
    }
}

#[test]
fn the_mix_looks_like_a_busy_web_app() {
    let all = messages(3, 20_000);
    let share = |app: &[u8], procid: fn(&[u8]) -> bool, msg: fn(&[u8]) -> bool| {
        let hits = all
            .iter()
            .map(|raw| parse(raw).unwrap())
            .filter(|m| m.app_name == app && procid(m.procid) && msg(m.msg))
            .count();
        hits as f64 / all.len() as f64
    };
    let router = share(b"heroku", |p| p == b"router", |_| true);
    let app = share(b"app", |p| p != b"api" && p != b"heroku-postgres", |_| true);
    let metrics = share(
        b"heroku",
        |p| p.starts_with(b"web."),
        |m| m.starts_with(b"source="),
    );
    let dyno = share(
        b"heroku",
        |p| p.starts_with(b"web."),
        |m| !m.starts_with(b"source="),
    );
    let api = share(b"app", |p| p == b"api", |_| true);
    let postgres = share(b"app", |p| p == b"heroku-postgres", |_| true);
    let errors = share(
        b"heroku",
        |p| p == b"router",
        |m| m.starts_with(b"at=error"),
    );
    for (name, got, want) in [
        ("router", router, 0.45),
        ("app", app, 0.35),
        ("metrics", metrics, 0.10),
        ("dyno", dyno, 0.05),
        ("api", api, 0.03),
        ("postgres", postgres, 0.02),
    ] {
        assert!((got - want).abs() < want * 0.25 + 0.01, "{name}: {got}");
    }
    assert!(errors > 0.0 && errors < 0.01, "router errors: {errors}");
}

#[test]
fn a_body_frames_back_into_the_same_messages() {
    let mut body = Vec::new();
    assert_eq!(Corpus::new(9).body(400, &mut body), 400);
    let items: Vec<_> = frames(&body, DEFAULT_MAX_FRAME_LEN).collect();
    let expected = messages(9, 400);
    assert_eq!(items.len(), 400);
    for (item, raw) in items.iter().zip(&expected) {
        assert_eq!(item, &Frame::Message(raw));
    }
}

#[test]
fn a_later_start_shifts_every_timestamp() {
    let mut corpus = Corpus::starting_at(5, 0);
    let mut out = Vec::new();
    corpus.next_message(&mut out);
    assert!(out.starts_with(b"<") && out.windows(5).any(|w| w == b"1970-"));
}
