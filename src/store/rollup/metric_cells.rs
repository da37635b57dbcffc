//! PURE: the runtime-metric rollups of a batch computed beside the COPY rows, exactly as the
//! SQL of migration 0006 computes them from the stored `fields` JSON: per (app, minute, dyno),
//! how many lines had each sample as a JSON number, and the exact `numeric` sum of those
//! numbers, with the scale Postgres gives the sum (the largest scale of its terms), so the
//! rows are the same, text for text, and later reads divide the same numbers.

use super::METRIC_KEYS;
use super::MINUTE_SECS;
use crate::record::{number_text, Fields, LogRecord};
use std::collections::BTreeMap;

/// An exact decimal sum: `mantissa × 10^-scale`, the scale being the largest of the terms'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecimalSum {
    mantissa: i128,
    scale: u32,
}

/// Largest scale summed here (the samples Heroku writes have two; a float's shortest text
/// rarely more than 17). A term has at most this scale and a magnitude below [`MAX_VALUE`],
/// so at the largest scale it is below 10^30, and i128 (above 10^38) holds the sum of more
/// than 10^8 of them: far more runtime-metrics lines than one batch of LOGDRAIN_BATCH_BYTES
/// can hold. Anything else is left to Postgres.
const MAX_SCALE: u32 = 18;

/// Largest magnitude summed here, exclusive.
const MAX_VALUE: i128 = 1_000_000_000_000;

impl DecimalSum {
    /// The number a plain decimal text (`-12`, `0.50`) stands for, with its scale; `None` for
    /// anything else (exponents, overflow), which the caller leaves to Postgres.
    pub fn parse(text: &str) -> Option<DecimalSum> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (digits.contains('.') && frac.is_empty())
        {
            return None;
        }
        let scale = u32::try_from(frac.len()).ok().filter(|s| *s <= MAX_SCALE)?;
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(b - b'0'))?;
        }
        if mantissa >= MAX_VALUE * 10i128.pow(scale) {
            return None;
        }
        Some(DecimalSum {
            mantissa: if negative { -mantissa } else { mantissa },
            scale,
        })
    }

    /// `self + other`, at the larger scale (exact within the bounds of [`MAX_SCALE`]).
    pub fn plus(self, other: DecimalSum) -> DecimalSum {
        let scale = self.scale.max(other.scale);
        let up = |d: DecimalSum| d.mantissa * 10i128.pow(scale - d.scale);
        DecimalSum {
            mantissa: up(self) + up(other),
            scale,
        }
    }

    /// The text `numeric` writes for it (all `scale` digits after the point).
    pub fn text(&self) -> String {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{sign}{int}.{frac}")
    }
}

/// One sample's lines and sum.
pub type Sample = (i64, DecimalSum);

/// The samples of [`METRIC_KEYS`], in that order.
pub type Samples = [Sample; METRIC_KEYS.len()];

/// What one runtime-metrics line adds, or `None` when it must be left to the SQL (fields kept
/// as JSON text, a number out of the bounds of [`MAX_SCALE`]).
pub fn samples_of(rec: &LogRecord<'_>) -> Option<Samples> {
    let mut out: Samples = Default::default();
    let pairs = match &rec.fields {
        Fields::None => return Some(out),
        Fields::Pairs(pairs) => pairs,
        Fields::Json(_) => return None,
    };
    for (i, key) in METRIC_KEYS.iter().enumerate() {
        // jsonb keeps the last of duplicate keys.
        let Some((_, value)) = pairs.iter().rev().find(|(k, _)| &**k == *key) else {
            continue;
        };
        if let Some(text) = number_text(value) {
            out[i] = (1, DecimalSum::parse(&text)?);
        }
    }
    Some(out)
}

/// Adds `b` into `a`.
pub fn add_samples(a: &mut Samples, b: &Samples) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = (x.0 + y.0, x.1.plus(y.1));
    }
}

/// Metric cells per (app, minute start µs, dyno).
pub type Cells = BTreeMap<(i64, i64, String), Samples>;

/// The rows a batch writes, minute rows only: ((app, 60, minute µs, dyno), samples).
pub fn rows(cells: &Cells) -> BTreeMap<(i64, i32, i64, &str), Samples> {
    let mut out: BTreeMap<(i64, i32, i64, &str), Samples> = BTreeMap::new();
    for ((app, minute, dyno), samples) in cells {
        let row = out
            .entry((*app, MINUTE_SECS, *minute, dyno.as_str()))
            .or_default();
        add_samples(row, samples);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_keep_the_largest_scale_as_numeric_does() {
        let sum = |xs: &[&str]| {
            xs.iter()
                .map(|x| DecimalSum::parse(x).expect(x))
                .fold(DecimalSum::default(), DecimalSum::plus)
                .text()
        };
        assert_eq!(sum(&["21.50", "3.1"]), "24.60");
        assert_eq!(sum(&["1", "2"]), "3");
        assert_eq!(sum(&["0.05", "-0.07"]), "-0.02");
        assert_eq!(sum(&["-1.5"]), "-1.5");
        assert_eq!(sum(&["0.001"]), "0.001");
        assert_eq!(sum(&["100.0", "0"]), "100.0");
        assert_eq!(DecimalSum::default().text(), "0");
        for bad in [
            "1e5",
            "",
            "-",
            ".5",
            "5.",
            "1.2.3",
            "x",
            "1000000000000",
            "0.0000000000000000001",
        ] {
            assert_eq!(DecimalSum::parse(bad), None, "{bad}");
        }
    }
}
