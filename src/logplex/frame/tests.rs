#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use super::*;
use proptest::prelude::*;

const CAP: usize = 256 * 1024;

fn split(body: &[u8]) -> Vec<Frame<'_>> {
    frames(body, CAP).collect()
}

/// `len SP msg` for each message, concatenated.
fn framed(messages: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for message in messages {
        body.extend_from_slice(format!("{} ", message.len()).as_bytes());
        body.extend_from_slice(message);
    }
    body
}

/// Checks that every byte of `body` is inside exactly one item, is the length prefix of a
/// message, or is whitespace between items; items must come in body order.
fn assert_nothing_lost(body: &[u8], items: &[Frame<'_>]) {
    let mut covered = vec![false; body.len()];
    let mut previous_end = 0;
    for item in items {
        let bytes = match item {
            Frame::Message(bytes) => bytes,
            Frame::Invalid { bytes, .. } | Frame::Overrun { bytes, .. } => bytes,
        };
        assert!(!bytes.is_empty(), "empty item {item:?}");
        let offset = bytes.as_ptr() as usize - body.as_ptr() as usize;
        let end = offset + bytes.len();
        assert!(end <= body.len(), "item outside the body");
        assert!(offset >= previous_end, "items overlap or are out of order");
        if matches!(item, Frame::Message(_)) {
            let prefix = format!("{} ", bytes.len());
            if body[..offset].ends_with(prefix.as_bytes()) {
                covered[offset - prefix.len()..offset].fill(true);
            }
        }
        covered[offset..end].fill(true);
        previous_end = end;
    }
    for (at, (&byte, &covered)) in body.iter().zip(&covered).enumerate() {
        assert!(
            covered || matches!(byte, b'\n' | b'\r' | b' '),
            "byte {at} ({byte:#04x}) was dropped; items: {items:?}"
        );
    }
}

#[test]
fn a_message_without_trailing_lf_is_followed_directly_by_the_next_length() {
    let body = b"5 hello6 world\n";
    assert_eq!(
        split(body),
        [Frame::Message(b"hello"), Frame::Message(b"world\n")]
    );
}

#[test]
fn an_l10_line_prepended_without_lf_does_not_swallow_the_next_frame() {
    let l10 = b"<172>1 2024-05-01T10:11:00+00:00 host heroku logplex - Error L10 (output buffer overflow): 3 messages dropped since 2024-05-01T10:10:59+00:00.";
    let app = b"<190>1 2024-05-01T10:11:00.000001+00:00 host app web.1 - hi\n";
    let body = framed(&[l10, app]);
    assert_eq!(split(&body), [Frame::Message(l10), Frame::Message(app)]);
}

#[test]
fn stray_whitespace_between_frames_is_skipped() {
    let body = b"\r\n 3 abc\n\n3 def\r\n  ";
    assert_eq!(
        split(body),
        [Frame::Message(b"abc"), Frame::Message(b"def")]
    );
}

#[test]
fn whitespace_inside_a_counted_frame_is_kept() {
    let body = b"3 \n \n1 \n";
    assert_eq!(
        split(body),
        [Frame::Message(b"\n \n"), Frame::Message(b"\n")]
    );
}

#[test]
fn an_empty_body_yields_nothing() {
    assert_eq!(split(b""), []);
}

#[test]
fn a_body_of_only_whitespace_yields_nothing() {
    assert_eq!(split(b" \r\n\n  \n"), []);
}

#[test]
fn a_last_length_larger_than_the_rest_of_the_body_is_an_overrun() {
    let body = b"3 abc50 <190>1 short";
    assert_eq!(
        split(body),
        [
            Frame::Message(b"abc"),
            Frame::Overrun {
                bytes: b"50 <190>1 short",
                message: b"<190>1 short",
                declared: 50,
            }
        ]
    );
}

#[test]
fn a_last_length_over_the_cap_with_no_frame_after_it_is_an_overrun() {
    let body = b"3 abc1000000 <190>1 2026-11-01T10:00:00Z host app web.1 - hi";
    assert_eq!(
        frames(body, 5000).collect::<Vec<_>>(),
        [
            Frame::Message(b"abc"),
            Frame::Overrun {
                bytes: b"1000000 <190>1 2026-11-01T10:00:00Z host app web.1 - hi",
                message: b"<190>1 2026-11-01T10:00:00Z host app web.1 - hi",
                declared: 1_000_000,
            }
        ]
    );
}

#[test]
fn a_middle_frame_keeps_its_count_even_when_its_message_looks_like_frames() {
    // The first count covers text that holds a frame-shaped `4 <1>a`: it stays one message.
    let inner = b"<190>1 - - - - - said 4 <1>a";
    let mut body = framed(&[inner]);
    body.extend_from_slice(b"4 <1>b");
    assert_eq!(
        split(&body),
        [Frame::Message(inner), Frame::Message(b"<1>b")]
    );
}

#[test]
fn a_length_over_the_cap_is_one_invalid_item_and_framing_continues_after_it() {
    let body = b"10 0123456789 3 abc";
    let items: Vec<_> = frames(body, 5).collect();
    assert_eq!(
        items,
        [
            Frame::Invalid {
                bytes: b"10 0123456789",
                reason: FrameError::TooLong { len: 10, max: 5 }
            },
            Frame::Message(b"abc")
        ]
    );
}

#[test]
fn a_length_over_the_cap_that_does_not_fit_resyncs_to_the_next_frame() {
    let body = b"999999 <190>1 hello world\n4 <1>a";
    assert_eq!(
        split(body),
        [
            Frame::Invalid {
                bytes: b"999999 <190>1 hello world\n",
                reason: FrameError::TooLong {
                    len: 999_999,
                    max: CAP
                }
            },
            Frame::Message(b"<1>a")
        ]
    );
}

#[test]
fn a_stray_digit_glued_to_a_real_length_is_split_off() {
    let message = b"<158>1 2024-05-01T10:00:00Z host heroku router - status=200\n";
    let next = b"<158>1 2024-05-01T10:00:01Z host heroku router - status=404\n";
    let mut body = b"9".to_vec();
    body.extend_from_slice(&framed(&[message, next]));
    let items: Vec<_> = frames(&body, 500).collect();
    assert_eq!(
        items,
        [
            Frame::Invalid {
                bytes: b"9",
                reason: FrameError::TooLong { len: 960, max: 500 }
            },
            Frame::Message(message),
            Frame::Message(next)
        ]
    );
}

#[test]
fn garbage_between_frames_is_skipped_up_to_the_next_frame_start() {
    let first = b"<190>1 2024-05-01T10:00:00Z host app web.1 - one\n";
    let second = b"<190>1 2024-05-01T10:00:01Z host app web.1 - two\n";
    let mut body = framed(&[first]);
    body.extend_from_slice(b"#garbage 12 words\n");
    body.extend_from_slice(&framed(&[second]));
    assert_eq!(
        split(&body),
        [
            Frame::Message(first),
            Frame::Invalid {
                bytes: b"#garbage 12 words\n",
                reason: FrameError::BadLength
            },
            Frame::Message(second)
        ]
    );
}

#[test]
fn digits_glued_to_a_real_length_resolve_to_the_real_frame() {
    // A corrupted stretch ending in `bytes=512` right before the real `N <…` prefix: the
    // longer readings (`512N`, `12N`, `2N`) do not land on a frame boundary.
    let message = b"<158>1 2024-05-01T10:00:00Z host heroku router - status=200\n";
    let next = b"<158>1 2024-05-01T10:00:01Z host heroku router - status=404\n";
    let mut body = framed(&[b"ok"]);
    body.extend_from_slice(b"xx bytes=512");
    body.extend_from_slice(&framed(&[message, next]));
    let items = split(&body);
    assert_eq!(
        items.get(1),
        Some(&Frame::Invalid {
            bytes: b"xx bytes=512",
            reason: FrameError::BadLength
        })
    );
    assert_eq!(
        items.get(2..),
        Some(&[Frame::Message(message), Frame::Message(next)][..])
    );
}

#[test]
fn a_leading_zero_is_not_a_length() {
    let body = b"3 abc03 abc";
    assert_eq!(
        split(body),
        [
            Frame::Message(b"abc"),
            Frame::Invalid {
                bytes: b"03 abc",
                reason: FrameError::BadLength
            }
        ]
    );
}

#[test]
fn a_body_that_does_not_start_with_a_length_is_read_as_lines() {
    let body = b"\n<190>1 2024-05-01T10:00:00Z host app web.1 - one\r\n\n<190>1 x - two\n  \nlast";
    assert_eq!(
        split(body),
        [
            Frame::Message(b"<190>1 2024-05-01T10:00:00Z host app web.1 - one"),
            Frame::Message(b"<190>1 x - two"),
            Frame::Message(b"last"),
        ]
    );
}

#[test]
fn a_line_over_the_cap_in_line_mode_is_invalid() {
    let items: Vec<_> = frames(b"<1>abcdef\n<1>a", 5).collect();
    assert_eq!(
        items,
        [
            Frame::Invalid {
                bytes: b"<1>abcdef",
                reason: FrameError::TooLong { len: 9, max: 5 }
            },
            Frame::Message(b"<1>a")
        ]
    );
}

#[test]
fn a_chunk_split_in_the_middle_of_a_utf8_character_keeps_its_bytes() {
    let header = b"<190>1 2024-05-01T10:13:00.000001+00:00 host app web.2 - ";
    let mut line = vec![b'a'; 9_999];
    line.extend_from_slice("\u{e9} tail\n".as_bytes());
    let (head, tail) = line.split_at(10_000);
    let first = [&header[..], head].concat();
    let second = [&header[..], tail].concat();
    let body = framed(&[&first, &second]);
    assert_eq!(
        split(&body),
        [Frame::Message(&first), Frame::Message(&second)]
    );
    let (first, second) = (
        crate::logplex::parse(&first).unwrap(),
        crate::logplex::parse(&second).unwrap(),
    );
    assert_eq!((first.msg.len(), first.trailing_lf), (10_000, false));
    assert!(first.msg.ends_with(&[0xc3]));
    assert_eq!((second.msg, second.trailing_lf), (&b"\xa9 tail"[..], true));
}

#[test]
fn adversarial_garbage_is_handled_in_linear_time() {
    let mut body = b"1 x".to_vec();
    for _ in 0..100_000 {
        body.extend_from_slice(b"z2 <a");
    }
    let items = split(&body);
    assert_nothing_lost(&body, &items);
}

/// One piece of a generated body: frames, garbage and whitespace mixed.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 1..40).prop_map(|m| {
            let mut message = b"<190>1 ".to_vec();
            message.extend_from_slice(&m);
            framed(&[&message])
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..12),
        1 => "[0-9 <\n]{0,12}".prop_map(String::into_bytes),
        1 => (1..100_000usize).prop_map(|len| format!("{len} <").into_bytes()),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_lose_nothing(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        max_len in any::<usize>(),
    ) {
        let items: Vec<_> = frames(&body, max_len).collect();
        assert_nothing_lost(&body, &items);
    }

    #[test]
    fn frame_shaped_noise_never_panics_and_loses_nothing(
        pieces in proptest::collection::vec(piece(), 0..20),
        max_len in prop_oneof![Just(CAP), 0..64usize],
    ) {
        let body = pieces.concat();
        let items: Vec<_> = frames(&body, max_len).collect();
        assert_nothing_lost(&body, &items);
    }

    #[test]
    fn framed_messages_come_back_exactly(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..30),
    ) {
        let slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let body = framed(&slices);
        let items: Vec<_> = frames(&body, CAP).collect();
        let expected: Vec<_> = slices.iter().map(|m| Frame::Message(m)).collect();
        prop_assert_eq!(items, expected);
    }
}
