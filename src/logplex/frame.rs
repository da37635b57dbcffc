//! Logplex stage 1: splits an `application/logplex-1` body into messages by RFC 6587 octet
//! counting (`MSG-LEN SP MSG`, nothing between frames), borrowing from the body.
//!
//! The splitter never fails and never drops a byte: whatever cannot be framed comes out as
//! [`Frame::Invalid`] so the caller can store it raw. The only bytes that appear in no item are
//! the length prefixes of good frames and stray whitespace between frames.

use nom::bytes::complete::{tag, take_while_m_n};
use nom::combinator::verify;
use nom::sequence::terminated;
use nom::{IResult, Parser};
use std::iter::FusedIterator;

/// The longest length prefix we accept, in digits. Nine digits already exceed any sane cap.
const MAX_LENGTH_DIGITS: usize = 9;

/// One item produced while splitting a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete message: exactly MSG-LEN bytes (syslog header + MSG, trailing LF included if
    /// sent).
    Message(&'a [u8]),
    /// Bytes that could not be framed; the caller stores them raw so nothing is lost.
    Invalid {
        /// The unframed bytes, length prefix included when there was one.
        bytes: &'a [u8],
        /// Why these bytes are not a message.
        reason: FrameError,
    },
}

/// Why a stretch of a body could not be framed. Carried by [`Frame::Invalid`] so the caller
/// can count and log each kind separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The bytes at the cursor are not `[1-9][0-9]{0,8} SP`; they were skipped up to the next
    /// plausible frame start.
    #[error("bytes where a frame length was expected")]
    BadLength,
    /// The declared length is above the configured cap, so it is not trusted.
    #[error("frame length {len} is over the {max}-byte limit")]
    TooLong {
        /// The declared MSG-LEN (or the line length in newline mode).
        len: usize,
        /// The configured cap.
        max: usize,
    },
    /// The declared length runs past the end of the body.
    #[error("frame declares {expected} bytes but only {got} remain")]
    Truncated {
        /// The declared MSG-LEN.
        expected: usize,
        /// The bytes actually left after the prefix.
        got: usize,
    },
}

/// How the body is being read, decided once from its first non-whitespace bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `MSG-LEN SP MSG` frames, the Logplex wire format.
    OctetCounted,
    /// One message per LF-terminated line, for senders that do not frame at all.
    Lines,
}

/// Iterator over the items of one body; built by [`frames`].
///
/// Exists so the HTTP handler can stream frames into the parser without collecting them.
#[derive(Debug, Clone)]
pub struct Framer<'a> {
    /// The whole body; items borrow from it.
    body: &'a [u8],
    /// Offset of the first byte not yet emitted or skipped.
    pos: usize,
    /// Largest MSG-LEN that is trusted.
    max_len: usize,
    /// Octet counting or the newline fallback.
    mode: Mode,
    /// Set once a resync scan has found no strongly confirmed frame start up to the end of the
    /// body, so later scans need not look for one again (keeps garbage handling linear).
    no_confirmed_start: bool,
}

/// Splits `body` into frames.
///
/// `max_len` is the length cap for one frame (configurable by the server, default 256 KiB): a
/// larger declared length is reported as [`FrameError::TooLong`] instead of being trusted.
///
/// A body whose first non-whitespace bytes are not a length prefix (for example one that
/// starts with `<`) is read as newline-separated lines instead: every non-empty line is a
/// message, without its LF (and without a CR right before it).
pub fn frames(body: &[u8], max_len: usize) -> Framer<'_> {
    let start = skip_whitespace(body, 0);
    let mode = match body.get(start..) {
        Some(rest) if !rest.is_empty() && length_prefix(rest).is_err() => Mode::Lines,
        _ => Mode::OctetCounted,
    };
    Framer {
        body,
        pos: 0,
        max_len,
        mode,
        no_confirmed_start: false,
    }
}

impl<'a> Iterator for Framer<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        match self.mode {
            Mode::OctetCounted => self.next_counted(),
            Mode::Lines => self.next_line(),
        }
    }
}

impl FusedIterator for Framer<'_> {}

impl<'a> Framer<'a> {
    /// One octet-counted item, or `None` at the end of the body.
    fn next_counted(&mut self) -> Option<Frame<'a>> {
        let body = self.body;
        let start = skip_whitespace(body, self.pos);
        let rest = body.get(start..).filter(|rest| !rest.is_empty())?;

        let Ok((after_prefix, len)) = length_prefix(rest) else {
            return Some(self.resync(start, FrameError::BadLength));
        };
        let prefix_len = rest.len() - after_prefix.len();
        let available = after_prefix.len();

        if len > self.max_len {
            if len <= available {
                let end = start + prefix_len + len;
                self.pos = end;
                return Some(Frame::Invalid {
                    bytes: body.get(start..end).unwrap_or_default(),
                    reason: FrameError::TooLong {
                        len,
                        max: self.max_len,
                    },
                });
            }
            // An untrusted length that does not even fit: most likely corrupted digits, so
            // look for the next real frame instead of giving up on the rest of the body.
            return Some(self.resync(
                start,
                FrameError::TooLong {
                    len,
                    max: self.max_len,
                },
            ));
        }

        if len > available {
            self.pos = body.len();
            return Some(Frame::Invalid {
                bytes: rest,
                reason: FrameError::Truncated {
                    expected: len,
                    got: available,
                },
            });
        }

        self.pos = start + prefix_len + len;
        Some(Frame::Message(after_prefix.get(..len).unwrap_or_default()))
    }

    /// Emits everything from `start` up to the next plausible frame start as one invalid item.
    ///
    /// A position is a *candidate* when it reads `[1-9][0-9]{0,8} SP <`, the length is within
    /// the cap and the frame fits in the body. A candidate is *confirmed* when the bytes right
    /// after its frame (past any whitespace) are the end of the body or another candidate-shaped
    /// prefix. The first confirmed candidate wins, because a length that lands exactly on the
    /// next frame is very unlikely by chance (digits inside a message such as `bytes=512` glued
    /// to a real `270 <158>…` prefix are then resolved to the real one). Without any confirmed
    /// candidate the first plain candidate is taken; without that, the rest of the body is
    /// invalid.
    ///
    /// Inside the run of digits at `start`, if any, only confirmed candidates count: that run
    /// was just rejected as a length, and a suffix of it (`99999 <` → `9 <`) is believable only
    /// when it lands exactly on a frame boundary (a corrupted digit glued to a real length).
    fn resync(&mut self, start: usize, reason: FrameError) -> Frame<'a> {
        let body = self.body;
        let rejected_end = start
            + body.get(start..).map_or(0, |rest| {
                rest.iter().take_while(|b| b.is_ascii_digit()).count()
            });
        let mut first_candidate = None;
        let mut confirmed = None;
        for at in start + 1..body.len() {
            let inside_rejected = at < rejected_end;
            if self.no_confirmed_start && (first_candidate.is_some() || inside_rejected) {
                if first_candidate.is_some() {
                    break;
                }
                continue;
            }
            let Some(frame_end) = self.candidate_end(at) else {
                continue;
            };
            if !self.no_confirmed_start && self.is_boundary(frame_end) {
                confirmed = Some(at);
                break;
            }
            if first_candidate.is_none() && !inside_rejected {
                first_candidate = Some(at);
            }
        }
        if confirmed.is_none() {
            self.no_confirmed_start = true;
        }
        let end = confirmed.or(first_candidate).unwrap_or(body.len());
        self.pos = end;
        Frame::Invalid {
            bytes: body.get(start..end).unwrap_or_default(),
            reason,
        }
    }

    /// If a frame that fits and respects the cap starts at `at`, the offset just past it.
    fn candidate_end(&self, at: usize) -> Option<usize> {
        let rest = self.body.get(at..)?;
        let (after_prefix, len) = length_prefix(rest).ok()?;
        if len > self.max_len || len > after_prefix.len() || after_prefix.first() != Some(&b'<') {
            return None;
        }
        Some(self.body.len() - after_prefix.len() + len)
    }

    /// Whether `at` (a frame end) is followed, past whitespace, by the end of the body or by
    /// another `digits SP <`.
    fn is_boundary(&self, at: usize) -> bool {
        let next = skip_whitespace(self.body, at);
        match self.body.get(next..) {
            None | Some([]) => true,
            Some(rest) => {
                matches!(length_prefix(rest), Ok((after, _)) if after.first() == Some(&b'<'))
            }
        }
    }

    /// One item in newline mode, or `None` at the end of the body.
    ///
    /// Lines made only of whitespace are skipped like blank lines.
    fn next_line(&mut self) -> Option<Frame<'a>> {
        let body = self.body;
        loop {
            let rest = body.get(self.pos..).filter(|rest| !rest.is_empty())?;
            let line_len = rest.iter().position(|&b| b == b'\n');
            self.pos += line_len.map_or(rest.len(), |len| len + 1);

            let line = rest
                .get(..line_len.unwrap_or(rest.len()))
                .unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(|&b| is_whitespace(b)) {
                continue;
            }
            if line.len() > self.max_len {
                return Some(Frame::Invalid {
                    bytes: line,
                    reason: FrameError::TooLong {
                        len: line.len(),
                        max: self.max_len,
                    },
                });
            }
            return Some(Frame::Message(line));
        }
    }
}

/// Parses `[1-9][0-9]{0,8} SP` and returns the declared length.
fn length_prefix(input: &[u8]) -> IResult<&[u8], usize> {
    let digits = verify(
        take_while_m_n(1, MAX_LENGTH_DIGITS, |b: u8| b.is_ascii_digit()),
        |digits: &[u8]| digits.first() != Some(&b'0'),
    );
    let (rest, digits) = terminated(digits, tag(&b" "[..])).parse(input)?;
    let len = digits
        .iter()
        .fold(0_usize, |acc, d| acc * 10 + usize::from(d - b'0'));
    Ok((rest, len))
}

/// The first offset at or after `from` that is not LF, CR or SP (or the body length).
fn skip_whitespace(body: &[u8], from: usize) -> usize {
    let skipped = body.get(from..).map_or(0, |rest| {
        rest.iter().take_while(|&&b| is_whitespace(b)).count()
    });
    from + skipped
}

/// The bytes a few senders put between frames (an LF after each one, sometimes CR LF).
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b'\n' | b'\r' | b' ')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
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
                Frame::Invalid { bytes, .. } => bytes,
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
    fn a_length_larger_than_the_rest_of_the_body_is_truncated() {
        let body = b"3 abc50 <190>1 short";
        assert_eq!(
            split(body),
            [
                Frame::Message(b"abc"),
                Frame::Invalid {
                    bytes: b"50 <190>1 short",
                    reason: FrameError::Truncated {
                        expected: 50,
                        got: 12
                    }
                }
            ]
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
        let body =
            b"\n<190>1 2024-05-01T10:00:00Z host app web.1 - one\r\n\n<190>1 x - two\n  \nlast";
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
}
