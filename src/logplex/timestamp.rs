//! Logplex stage 2b: turns the syslog TIMESTAMP token (RFC 3339) into UTC microseconds and back.
//!
//! Logplex copies the producer's token without checking it, so parsing is lenient about the
//! shape (0 or more fractional digits, `Z`/`z` or a numeric offset) and strict about the values:
//! a month 13 or an hour 25 yields `None`, and the caller falls back to the receive time.
//! The calendar arithmetic is the proleptic Gregorian one from Howard Hinnant's
//! `days_from_civil` / `civil_from_days`, which keeps this module free of a date crate.

/// Microseconds in one second.
const MICROS_PER_SECOND: i64 = 1_000_000;
/// Seconds in one civil day (leap seconds are not counted, as in Unix time).
const SECONDS_PER_DAY: i64 = 86_400;

/// Parses an RFC 3339 timestamp into microseconds since the Unix epoch, UTC.
///
/// Exists because every stored line is ordered by this value (Logplex gives no order across
/// requests). Accepts `YYYY-MM-DDTHH:MM:SS[.f+](Z|z|±HH:MM|±HHMM)`, with `t` or a space in place
/// of `T`. Fractional digits past the sixth are truncated. A second of `60` (leap second) rolls
/// into the next minute. Returns `None` for anything else, including out-of-range fields.
pub fn parse_micros(token: &[u8]) -> Option<i64> {
    if let Ok(exact) = <&[u8; 32]>::try_from(token) {
        if let Some(micros) = parse_heroku_micros(exact) {
            return Some(micros);
        }
    }
    let mut cursor = Cursor { rest: token };
    let year = cursor.digits(4)?;
    cursor.byte(b'-')?;
    let month = cursor.digits(2)?;
    cursor.byte(b'-')?;
    let day = cursor.digits(2)?;
    match cursor.next()? {
        b'T' | b't' | b' ' => {}
        _ => return None,
    }
    let hour = cursor.digits(2)?;
    cursor.byte(b':')?;
    let minute = cursor.digits(2)?;
    cursor.byte(b':')?;
    let second = cursor.digits(2)?;

    let mut fraction = 0;
    if cursor.peek() == Some(b'.') {
        cursor.next();
        fraction = cursor.fraction_micros()?;
    }

    let offset_seconds = match cursor.next()? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let hours = cursor.digits(2)?;
            if cursor.peek() == Some(b':') {
                cursor.next();
            }
            let minutes = cursor.digits(2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let magnitude = hours * 3_600 + minutes * 60;
            if sign == b'-' {
                -magnitude
            } else {
                magnitude
            }
        }
        _ => return None,
    };
    if !cursor.rest.is_empty() {
        return None;
    }

    civil_micros(
        [year, month, day, hour, minute, second],
        fraction,
        offset_seconds,
    )
}

/// Microseconds since the epoch of a civil UTC time given as `[year, month, day, hour, minute,
/// second]` plus microseconds, minus `offset_seconds`; `None` when a field is out of range.
fn civil_micros(fields: [i64; 6], fraction: i64, offset_seconds: i64) -> Option<i64> {
    let [year, month, day, hour, minute, second] = fields;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * SECONDS_PER_DAY + hour * 3_600 + minute * 60 + second - offset_seconds;
    Some(seconds * MICROS_PER_SECOND + fraction)
}

/// Appends `micros` (since the Unix epoch) as `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.
///
/// Exists so generated traffic and tests write timestamps exactly the way the Heroku router and
/// dynos do. Years outside 0..=9999 are clamped to that range's digits, which never happens for
/// real traffic.
pub fn format_micros(micros: i64, out: &mut Vec<u8>) {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);

    push_padded(out, year.clamp(0, 9_999), 4);
    out.push(b'-');
    push_padded(out, month, 2);
    out.push(b'-');
    push_padded(out, day, 2);
    out.push(b'T');
    push_padded(out, second_of_day / 3_600, 2);
    out.push(b':');
    push_padded(out, second_of_day / 60 % 60, 2);
    out.push(b':');
    push_padded(out, second_of_day % 60, 2);
    out.push(b'.');
    push_padded(out, fraction, 6);
    out.extend_from_slice(b"+00:00");
}

/// Days between 1970-01-01 and the given proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day) for a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// [`parse_micros`] of a token known to be 32 bytes when it has the shape nearly every Heroku
/// line has, `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`; `None` when it has another shape (it may
/// still be a timestamp for [`parse_micros`]).
pub(crate) fn parse_heroku(token: &[u8; 32]) -> Option<i64> {
    parse_heroku_micros(token)
}

/// The fast path for the shape nearly every Heroku line has,
/// `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`; `None` sends anything else down the general parser.
fn parse_heroku_micros(t: &[u8; 32]) -> Option<i64> {
    /// The template, eight bytes at a time (little-endian): separator lanes hold their byte,
    /// digit lanes hold 0.
    const SEPARATORS: [u64; 4] = [
        u64::from_le_bytes(*b"\0\0\0\0-\0\0-"),
        u64::from_le_bytes(*b"\0\0T\0\0:\0\0"),
        u64::from_le_bytes(*b":\0\0.\0\0\0\0"),
        u64::from_le_bytes(*b"\0\0+00:00"),
    ];
    /// 0xFF in the separator lanes.
    const MASKS: [u64; 4] = [
        0xFF00_00FF_0000_0000,
        0x0000_FF00_00FF_0000,
        0x0000_0000_FF00_00FF,
        0xFFFF_FFFF_FFFF_0000,
    ];
    const ZEROS: u64 = u64::from_ne_bytes([b'0'; 8]);
    const HIGH_NIBBLES: u64 = u64::from_ne_bytes([0xF0; 8]);
    const SIXES: u64 = u64::from_ne_bytes([0x06; 8]);
    let mut digits = [0u64; 4];
    for (i, chunk) in t.chunks_exact(8).enumerate() {
        let mut lanes = [0u8; 8];
        lanes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(lanes);
        if word & MASKS[i] != SEPARATORS[i] {
            return None;
        }
        // Separator lanes read as '0'; then every lane must be an ASCII digit: high nibble 3,
        // and still 3 after adding 6 (no carry can cross lanes once all are 0x30..=0x3F).
        let word = (word & !MASKS[i]) | (ZEROS & MASKS[i]);
        if word & HIGH_NIBBLES != ZEROS || word.wrapping_add(SIXES) & HIGH_NIBBLES != ZEROS {
            return None;
        }
        digits[i] = word - ZEROS;
    }
    // Lane `k` of word `w` as a number (every lane is 0..=9 here).
    let l = |w: u64, k: u32| ((w >> (8 * k)) & 0xF) as i64;
    let [w0, w1, w2, w3] = digits;
    let year = l(w0, 0) * 1_000 + l(w0, 1) * 100 + l(w0, 2) * 10 + l(w0, 3);
    let month = l(w0, 5) * 10 + l(w0, 6);
    let day = l(w1, 0) * 10 + l(w1, 1);
    let hour = l(w1, 3) * 10 + l(w1, 4);
    let minute = l(w1, 6) * 10 + l(w1, 7);
    let second = l(w2, 1) * 10 + l(w2, 2);
    let fraction = l(w2, 4) * 100_000
        + l(w2, 5) * 10_000
        + l(w2, 6) * 1_000
        + l(w2, 7) * 100
        + l(w3, 0) * 10
        + l(w3, 1);
    civil_micros([year, month, day, hour, minute, second], fraction, 0)
}

/// Length of a month in the proleptic Gregorian calendar.
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Appends `value` in decimal, left-padded with zeros to `width` digits.
fn push_padded(out: &mut Vec<u8>, value: i64, width: u32) {
    let mut divisor = 10_i64.pow(width.saturating_sub(1));
    while divisor > 0 {
        // `value / divisor % 10` is a single decimal digit, so the cast cannot truncate.
        out.push(b'0' + (value / divisor % 10) as u8);
        divisor /= 10;
    }
}

/// A read position inside the timestamp token.
struct Cursor<'a> {
    /// The bytes not yet consumed.
    rest: &'a [u8],
}

impl Cursor<'_> {
    /// Consumes one byte.
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    /// The next byte, not consumed.
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Consumes `expected` or fails.
    fn byte(&mut self, expected: u8) -> Option<()> {
        (self.next()? == expected).then_some(())
    }

    /// Consumes exactly `count` ASCII digits and returns their value.
    fn digits(&mut self, count: usize) -> Option<i64> {
        let mut value = 0;
        for _ in 0..count {
            let digit = self.next()?;
            if !digit.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(digit - b'0');
        }
        Some(value)
    }

    /// Consumes one or more fractional digits and returns them as microseconds (truncated).
    fn fraction_micros(&mut self) -> Option<i64> {
        let count = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        let (digits, rest) = self.rest.split_at(count);
        self.rest = rest;
        let mut micros = 0;
        for position in 0..6 {
            let digit = digits.get(position).map_or(0, |d| i64::from(d - b'0'));
            micros = micros * 10 + digit;
        }
        Some(micros)
    }
}

#[cfg(test)]
mod tests;
