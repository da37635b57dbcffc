//! Card numbers in free text: 13 to 19 digits, alone or in groups joined by one consistent
//! space or dash, with a card network's prefix and length and a valid Luhn check digit, and
//! not part of a word, a decimal, a hyphenated id or a phone number.

use super::spans::{Span, Spans, REDACTED, R_CARDS};
use std::borrow::Cow;

/// The shortest card number.
const CARD_MIN: usize = 13;
/// The longest card number.
const CARD_MAX: usize = 19;

fn is_card_byte(c: u8) -> bool {
    c.is_ascii_digit() || c == b' ' || c == b'-'
}

/// Card numbers. A run of 13 digits spans at least 13 bytes, so only every 13th byte needs a
/// look until one is a digit, space or dash; then the run around it is examined whole.
pub(super) fn cards(b: &[u8], spans: &mut Spans<'_>) {
    let mut p = CARD_MIN - 1;
    let mut floor = 0;
    while p < b.len() {
        if !is_card_byte(b[p]) {
            p += CARD_MIN;
            continue;
        }
        let mut s = p;
        while s > floor && is_card_byte(b[s - 1]) {
            s -= 1;
        }
        let mut e = p + 1;
        while e < b.len() && is_card_byte(b[e]) {
            e += 1;
        }
        if e - s >= CARD_MIN {
            card_run(b, s, e, spans);
        }
        floor = e;
        p = e + CARD_MIN;
    }
}

/// Examines a run of digits, spaces and dashes: chains of digit groups joined by one
/// consistent single separator are candidates as a whole when grouped like a card (a first
/// group of 4, then groups of 3 to 6); any single group is a candidate on its own.
fn card_run(b: &[u8], s: usize, e: usize, spans: &mut Spans<'_>) {
    let mut i = s;
    while i < e {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let chain_start = i;
        let mut groups = 0;
        let mut digits = 0;
        let mut grouped = true;
        let mut sep = 0u8;
        let mut j = i;
        loop {
            let gs = j;
            while j < e && b[j].is_ascii_digit() {
                j += 1;
            }
            let len = j - gs;
            if len >= CARD_MIN && card_ok(b, gs, j) {
                push_card(spans, gs, j);
            }
            grouped &= if groups == 0 {
                len == 4
            } else {
                (3..=6).contains(&len)
            };
            groups += 1;
            digits += len;
            let joins = j + 1 < e && (sep == 0 || b[j] == sep) && b[j + 1].is_ascii_digit();
            if !joins {
                break;
            }
            sep = b[j];
            j += 1;
        }
        if grouped
            && groups > 1
            && (CARD_MIN..=CARD_MAX).contains(&digits)
            && card_ok(b, chain_start, j)
        {
            push_card(spans, chain_start, j);
        }
        i = j;
    }
}

fn push_card(spans: &mut Spans<'_>, start: usize, end: usize) {
    spans.push(Span {
        start,
        end,
        with: Cow::Borrowed(REDACTED),
        rule: R_CARDS,
    });
}

/// Whether the digits in `s..e` (separators skipped) are a card number standing on its own.
fn card_ok(b: &[u8], s: usize, e: usize) -> bool {
    let mut digits = [0u8; CARD_MAX];
    let mut n = 0;
    for &c in b[s..e].iter().filter(|c| c.is_ascii_digit()) {
        if n == CARD_MAX {
            return false;
        }
        digits[n] = c - b'0';
        n += 1;
    }
    if n < CARD_MIN {
        return false;
    }
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    // Inside a word, a decimal, a hyphenated id (UUID), or a phone number.
    if let Some(i) = s.checked_sub(1) {
        let prev = b[i];
        if word(prev) || prev == b'+' {
            return false;
        }
        if matches!(prev, b'.' | b',' | b'-') && i > 0 && word(b[i - 1]) {
            return false;
        }
    }
    if let Some(&next) = b.get(e) {
        if word(next) {
            return false;
        }
        if matches!(next, b'.' | b',' | b'-') && b.get(e + 1).is_some_and(|&c| word(c)) {
            return false;
        }
    }
    network(&digits[..n]) && luhn(&digits[..n])
}

/// Whether the number has the prefix and length of a card network (Visa, Mastercard, Amex,
/// Discover, Diners, JCB, UnionPay, Maestro). Rules out epoch timestamps (leading 1).
fn network(d: &[u8]) -> bool {
    let n = d.len();
    let two = d[0] * 10 + d[1];
    let four = u16::from(two) * 100 + u16::from(d[2]) * 10 + u16::from(d[3]);
    match d[0] {
        4 => matches!(n, 13 | 16 | 19),
        2 => (2221..=2720).contains(&four) && n == 16,
        5 => match two {
            51..=55 => n == 16,
            _ => n >= 13,
        },
        3 => match two {
            34 | 37 => n == 15,
            35 => n >= 16,
            30 | 36 | 38 | 39 => n >= 14,
            _ => false,
        },
        6 => n >= 16,
        _ => false,
    }
}

fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let x = u32::from(x);
        sum += if i % 2 == 1 {
            let y = x * 2;
            if y > 9 {
                y - 9
            } else {
                y
            }
        } else {
            x
        };
    }
    sum % 10 == 0
}
