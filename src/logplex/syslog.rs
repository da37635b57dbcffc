//! Logplex stage 2: reads the RFC 5424 header of one framed message and hands MSG on verbatim,
//! borrowing every field from the body.
//!
//! Heroku sends `<PRI>1 TIMESTAMP host APP-NAME PROCID - MSG`: six space-terminated tokens, then
//! MSG, with no STRUCTURED-DATA field. The parser splits exactly those six separators and keeps
//! the rest byte-for-byte, so runs of spaces inside MSG survive and a MSG that starts with `-`
//! or `[` is not mistaken for structured data.

use super::timestamp;
use crate::scan::find_byte;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::combinator::recognize;
use nom::multi::{many0_count, many1_count};
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// The HOSTNAME Logplex writes on every HTTPS-drain message.
const LOGPLEX_HOSTNAME: &[u8] = b"host";
/// The largest PRI value: facility 23, severity 7.
const MAX_PRI: u8 = 191;
/// Space-terminated tokens before MSG: PRI+VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID,
/// MSGID.
const HEADER_TOKENS: usize = 6;

/// One syslog message, its header split into fields that borrow from the request body.
///
/// Exists so that classification and storage work on named fields without copying; the
/// caller turns it into an owned record at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogMessage<'a> {
    /// Facility × 8 + severity, 0..=191. Heroku's values are not documented; do not rely on
    /// them beyond display.
    pub pri: u8,
    /// The protocol version after PRI; always 1 from Logplex.
    pub version: u16,
    /// TIMESTAMP in microseconds since the Unix epoch, UTC; `None` when it is `-` or does not
    /// parse, so the caller falls back to the receive time.
    pub timestamp: Option<i64>,
    /// The TIMESTAMP token as sent, kept for display and for lines whose time did not parse.
    pub timestamp_raw: &'a [u8],
    /// HOSTNAME: literally `host` on Heroku HTTPS drains.
    pub hostname: &'a [u8],
    /// APP-NAME: `app` or `heroku` on Heroku, the first half of the source.
    pub app_name: &'a [u8],
    /// PROCID: the dyno or component (`web.1`, `router`, `api`, ...), the second half of the
    /// source.
    pub procid: &'a [u8],
    /// MSGID: always `-` from Logplex.
    pub msgid: &'a [u8],
    /// STRUCTURED-DATA when the sender is not Logplex and sent one (`-` or `[...]`); see
    /// [`parse`] for the rule.
    pub structured_data: Option<&'a [u8]>,
    /// MSG verbatim, at most one trailing LF removed (a CR before it is kept).
    pub msg: &'a [u8],
    /// Whether that LF was there; Logplex's own L10 line and add-on metrics come without one.
    pub trailing_lf: bool,
}

impl SyslogMessage<'_> {
    /// The syslog facility (PRI / 8), for filters that follow the RFC 5424 vocabulary.
    pub fn facility(&self) -> u8 {
        self.pri >> 3
    }

    /// The syslog severity (PRI % 8), for filters that follow the RFC 5424 vocabulary.
    pub fn severity(&self) -> u8 {
        self.pri & 7
    }
}

/// Why a framed message is not a syslog message. The caller keeps such a message raw, so
/// these only feed counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The message does not start with `<`.
    #[error("message does not start with <PRI>")]
    MissingPri,
    /// `<` is not followed by 1 to 3 digits, `>`, or the value is above 191.
    #[error("PRI is not a number from 0 to 191 closed by '>'")]
    BadPri,
    /// The token right after PRI is not a 1 to 3 digit version.
    #[error("VERSION after PRI is not a number")]
    BadVersion,
    /// Fewer than six space separators before MSG.
    #[error("header has fewer than six space-separated fields")]
    MissingFields,
}

/// Parses one framed message (as yielded by [`super::frames`]).
///
/// The header is the first six space-terminated tokens; everything after the sixth space is
/// MSG, byte-for-byte, minus at most one trailing LF. Tokens may be empty (two spaces in a row
/// give an empty field) and may hold any byte except SP.
///
/// STRUCTURED-DATA heuristic: when HOSTNAME is `host` the message comes from Logplex, which
/// never sends STRUCTURED-DATA, so MSG is everything after MSGID even if it starts with `- `
/// or `[` (Puma's `- Gracefully stopping`, `[GIN] …`, Postgres' `[DATABASE] [7-1] …`). For any
/// other HOSTNAME (log-shuttle posting directly writes `shuttle` and `- -`), the text after
/// MSGID is taken as STRUCTURED-DATA when it is the NILVALUE `-` or one or more well-formed
/// `[SD-ID PARAM="value" …]` elements (with `\"`, `\\` and `\]` escapes), followed by a space,
/// a final LF or the end; MSG is then what follows that space. Anything else stays in MSG.
pub fn parse(message: &[u8]) -> Result<SyslogMessage<'_>, ParseError> {
    let (pri, after_pri) = parse_pri(message)?;

    let mut tokens: [&[u8]; HEADER_TOKENS] = [&[]; HEADER_TOKENS];
    let mut rest = after_pri;
    let mut timestamp = None;
    let mut next = 0;
    // Logplex's own shape, `1 <32-byte timestamp> host `, is read without searching: a
    // timestamp that parses in that shape holds no space, so it is exactly the token.
    if let Some((b'1', b' ', stamp, b' ', tail)) = logplex_prefix(rest) {
        if let Some(micros) = timestamp::parse_heroku(stamp) {
            tokens[0] = &rest[..1];
            tokens[1] = stamp;
            timestamp = Some(micros);
            rest = tail;
            next = 2;
            if let Some(tail) = rest.strip_prefix(b"host ") {
                tokens[2] = LOGPLEX_HOSTNAME;
                rest = tail;
                next = 3;
            }
        }
    }
    for token in &mut tokens[next..] {
        let space = find_byte(rest, 0, b' ');
        let (head, tail) = rest.split_at(space);
        *token = head;
        rest = tail.get(1..).ok_or(ParseError::MissingFields)?;
    }
    let [version, timestamp_raw, hostname, app_name, procid, msgid] = tokens;
    let version = parse_version(version)?;
    if next < 2 {
        timestamp = timestamp::parse_micros(timestamp_raw);
    }

    let (structured_data, msg) = if hostname == LOGPLEX_HOSTNAME {
        (None, rest)
    } else {
        match split_structured_data(rest) {
            Some((sd, msg)) => (Some(sd), msg),
            None => (None, rest),
        }
    };
    let (msg, trailing_lf) = match msg.strip_suffix(b"\n") {
        Some(msg) => (msg, true),
        None => (msg, false),
    };

    Ok(SyslogMessage {
        pri,
        version,
        timestamp,
        timestamp_raw,
        hostname,
        app_name,
        procid,
        msgid,
        structured_data,
        msg,
        trailing_lf,
    })
}

/// `VERSION SP TIMESTAMP SP rest` split where a one-digit version and a 32-byte timestamp
/// would be; the caller checks the pieces.
#[allow(clippy::type_complexity)]
fn logplex_prefix(rest: &[u8]) -> Option<(u8, u8, &[u8; 32], u8, &[u8])> {
    let (&version, rest) = rest.split_first()?;
    let (&space, rest) = rest.split_first()?;
    let (stamp, rest) = rest.split_first_chunk::<32>()?;
    let (&space2, rest) = rest.split_first()?;
    Some((version, space, stamp, space2, rest))
}

/// Reads `<PRI>` and returns its value and the bytes after `>`.
fn parse_pri(message: &[u8]) -> Result<(u8, &[u8]), ParseError> {
    let rest = message.strip_prefix(b"<").ok_or(ParseError::MissingPri)?;
    let digits = rest
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if !(1..=3).contains(&digits) {
        return Err(ParseError::BadPri);
    }
    let (number, rest) = rest.split_at(digits);
    let rest = rest.strip_prefix(b">").ok_or(ParseError::BadPri)?;
    let value = decimal(number);
    match u8::try_from(value) {
        Ok(pri) if pri <= MAX_PRI => Ok((pri, rest)),
        _ => Err(ParseError::BadPri),
    }
}

/// Reads the VERSION that follows PRI (1 to 3 digits).
fn parse_version(token: &[u8]) -> Result<u16, ParseError> {
    if token.is_empty() || token.len() > 3 || !token.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadVersion);
    }
    u16::try_from(decimal(token)).map_err(|_| ParseError::BadVersion)
}

/// The value of a short run of ASCII digits (at most 3 here, so no overflow).
fn decimal(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |acc, d| acc * 10 + u32::from(d.wrapping_sub(b'0')))
}

/// Splits `rest` (the text after MSGID SP) into STRUCTURED-DATA and MSG, if it starts with
/// one; see [`parse`] for the rule.
fn split_structured_data(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let after = if let Some(after) = rest.strip_prefix(b"-") {
        after
    } else {
        structured_data(rest).ok()?.0
    };
    let sd = rest.get(..rest.len() - after.len())?;
    match after {
        [] | [b'\n'] => Some((sd, after)),
        [b' ', msg @ ..] => Some((sd, msg)),
        _ => None,
    }
}

/// One or more SD-ELEMENTs: `[SD-ID *(SP PARAM-NAME "=" DQUOTE PARAM-VALUE DQUOTE)]`.
fn structured_data(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let param = (
        sd_name,
        tag(&b"="[..]),
        tag(&b"\""[..]),
        param_value,
        tag(&b"\""[..]),
    );
    let element = (
        tag(&b"["[..]),
        sd_name,
        many0_count(preceded(tag(&b" "[..]), param)),
        tag(&b"]"[..]),
    );
    recognize(many1_count(element)).parse(input)
}

/// SD-NAME: 1 to 32 printable US-ASCII characters except `=`, SP, `]` and `"`.
fn sd_name(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while_m_n(1, 32, |b: u8| {
        b.is_ascii_graphic() && !matches!(b, b'=' | b']' | b'"')
    })
    .parse(input)
}

/// PARAM-VALUE up to the closing quote (not consumed). A backslash escapes the next byte, so
/// `\"`, `\\` and `\]` stay inside the value; an unescaped `]` is tolerated.
fn param_value(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let mut escaped = false;
    for (at, &byte) in input.iter().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => {
                let (value, rest) = input.split_at(at);
                return Ok((rest, value));
            }
            _ => {}
        }
    }
    Err(nom::Err::Error(nom::error::Error::new(
        input,
        nom::error::ErrorKind::Char,
    )))
}

#[cfg(test)]
mod tests;
