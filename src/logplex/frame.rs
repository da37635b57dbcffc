//! Logplex stage 1: splits an `application/logplex-1` body into messages by RFC 6587 octet
//! counting (`MSG-LEN SP MSG`, nothing between frames), borrowing from the body.
//!
//! The splitter never fails and never drops a byte: whatever cannot be framed comes out as
//! [`Frame::Invalid`] so the caller can store it raw, and a last frame whose declared length
//! runs past the end of the body comes out as [`Frame::Overrun`] so the caller can decide
//! whether what is there is a message. The only bytes that appear in no item are the length
//! prefixes of good frames and stray whitespace between frames.

use std::iter::FusedIterator;

/// The longest length prefix we accept, in digits. Nine digits already exceed any sane cap.
const MAX_LENGTH_DIGITS: usize = 9;

/// One item produced while splitting a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete message: exactly MSG-LEN bytes (syslog header + MSG, trailing LF included if
    /// sent).
    Message(&'a [u8]),
    /// The last frame of the body, whose declared length runs past the end of the body (a
    /// count that includes an LF the sender did not send, or an absurd count). Only the last
    /// frame is read this way: a frame in the middle of a body keeps trusting its count,
    /// because a message may hold text that looks like a frame.
    Overrun {
        /// Everything from the length prefix to the end of the body; stored raw when
        /// `message` is not a message.
        bytes: &'a [u8],
        /// The bytes after the length prefix, to the end of the body: a message if they
        /// parse as one.
        message: &'a [u8],
        /// The declared MSG-LEN.
        declared: usize,
    },
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
            let item = self.resync(
                start,
                FrameError::TooLong {
                    len,
                    max: self.max_len,
                },
            );
            // No frame follows: this was the last one, its count absurd.
            if self.pos >= body.len() {
                return Some(Frame::Overrun {
                    bytes: rest,
                    message: after_prefix,
                    declared: len,
                });
            }
            return Some(item);
        }

        if len > available {
            self.pos = body.len();
            return Some(Frame::Overrun {
                bytes: rest,
                message: after_prefix,
                declared: len,
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
fn length_prefix(input: &[u8]) -> Result<(&[u8], usize), BadPrefix> {
    let digits = input
        .iter()
        .take(MAX_LENGTH_DIGITS)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || input.first() == Some(&b'0') || input.get(digits) != Some(&b' ') {
        return Err(BadPrefix);
    }
    let len = input[..digits]
        .iter()
        .fold(0_usize, |acc, d| acc * 10 + usize::from(d - b'0'));
    Ok((&input[digits + 1..], len))
}

/// The bytes where a length prefix should be are not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BadPrefix;

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
mod tests;
