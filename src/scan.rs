//! PURE: byte searches eight bytes at a time in plain safe Rust (SWAR), for the short
//! distances the parsers search over (header tokens, logfmt keys and values) where a call to
//! `memchr` costs more than it saves.

/// `byte` in every lane of a word.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// The high bit of every lane of `word` that holds `byte`. Exact up to and including the
/// lowest such lane (a higher lane may be set spuriously by the borrow), so
/// `trailing_zeros() / 8` of a non-zero result is the index of the first match.
#[inline(always)]
pub(crate) fn lanes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ splat(byte);
    x.wrapping_sub(splat(0x01)) & !x & splat(0x80)
}

/// The bytes from `at` on (fewer than eight) as a little-endian word padded with zeros.
#[inline(always)]
fn tail_word(bytes: &[u8], at: usize) -> u64 {
    let mut lanes = [0u8; 8];
    let tail = bytes.get(at..).unwrap_or_default();
    let n = tail.len().min(8);
    lanes[..n].copy_from_slice(&tail[..n]);
    u64::from_le_bytes(lanes)
}

/// The offset of the first byte at or after `from` whose lane `mask` flags, or `bytes.len()`.
/// `mask` must flag the lowest matching lane of a word exactly and must never flag a zero byte
/// (the padding past the end).
#[inline(always)]
pub(crate) fn find_by(bytes: &[u8], from: usize, mask: impl Fn(u64) -> u64) -> usize {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let hits = mask(u64::from_le_bytes(*chunk));
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    if at < bytes.len() {
        let hits = mask(tail_word(bytes, at));
        if hits != 0 {
            return (at + (hits.trailing_zeros() / 8) as usize).min(bytes.len());
        }
    }
    bytes.len()
}

/// The offset of the first `byte` at or after `from`, or `bytes.len()`. `byte` must not be 0.
#[inline(always)]
pub(crate) fn find_byte(bytes: &[u8], from: usize, byte: u8) -> usize {
    find_by(bytes, from, |w| lanes_equal(w, byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn find_byte_agrees_with_position(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            from in 0usize..70,
            byte in 1u8..=255,
        ) {
            let expected = bytes
                .get(from..)
                .and_then(|rest| rest.iter().position(|&b| b == byte))
                .map_or(bytes.len(), |n| from + n);
            proptest::prop_assert_eq!(find_byte(&bytes, from, byte), expected);
        }

        #[test]
        fn two_bytes_at_once_agree_with_position(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            a in 1u8..=255,
            b in 1u8..=255,
        ) {
            let expected = bytes
                .iter()
                .position(|&c| c == a || c == b)
                .unwrap_or(bytes.len());
            let got = find_by(&bytes, 0, |w| lanes_equal(w, a) | lanes_equal(w, b));
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
