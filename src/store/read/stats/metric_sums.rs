//! `/metrics` adds its pieces up here rather than in Postgres: the statement returns every
//! piece's sample counts and exact `numeric` sums ordered by (dyno, bucket), and a week of
//! minutes is about 40,000 pieces of which nearly all are alone in their bucket. Grouping them
//! in Postgres cost a `numeric` aggregate state per sum and a `numeric` division and
//! text round trip per mean, several times the cost of reading the rows; here a lone piece
//! costs one conversion per mean.
//!
//! The sums stay exact: a `numeric` is read from its binary form as an integer and a decimal
//! scale and added as such, so the pieces of a bucket give the same total in any order and
//! from any mix of rollups and lines. A mean is that total, rounded once to the nearest
//! `f64`, divided by the sample count in `f64`. A value too large for 128 bits (a sample such
//! as `1e300`) is added as `f64` instead, in ascending order, which is order-independent too.

use super::METRIC_KEYS;
use chrono::{DateTime, Utc};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgRow, PgTypeInfo, PgValueFormat, PgValueRef};
use sqlx::{Decode, Postgres, Row, Type};

const K: usize = METRIC_KEYS.len();

/// A `numeric` value: `unscaled × 10^-scale` exactly, or its nearest `f64` when it does not
/// fit (or is NaN or infinite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Exact {
    Fixed { unscaled: i128, scale: u32 },
    Float(f64),
}

impl Exact {
    /// The nearest `f64`. An integer below 2^53 and a power of ten up to 10^22 are both exact
    /// in `f64`, so their quotient is rounded once (the usual fast path of decimal parsing);
    /// anything else goes through Rust's decimal parsing, which rounds correctly too.
    pub(crate) fn to_f64(self) -> f64 {
        const POW10: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        match self {
            Exact::Fixed { unscaled, scale }
                if unscaled.unsigned_abs() < 1 << 53 && (scale as usize) < POW10.len() =>
            {
                unscaled as f64 / POW10[scale as usize]
            }
            Exact::Fixed { unscaled, scale } => {
                format!("{unscaled}e-{scale}").parse().unwrap_or(f64::NAN)
            }
            Exact::Float(f) => f,
        }
    }

    fn rescaled(self, scale: u32) -> Option<i128> {
        match self {
            Exact::Fixed { unscaled, scale: s } if s <= scale => {
                unscaled.checked_mul(10i128.checked_pow(scale - s)?)
            }
            _ => None,
        }
    }

    /// The exact sum of `values`, or, when one is not exact or the sum overflows, the sum of
    /// their `f64`s in ascending order.
    pub(crate) fn sum(values: &[Exact]) -> Exact {
        let exact = || -> Option<Exact> {
            let mut scale = 0;
            for v in values {
                match v {
                    Exact::Fixed { scale: s, .. } => scale = scale.max(*s),
                    Exact::Float(_) => return None,
                }
            }
            let mut total: i128 = 0;
            for v in values {
                total = total.checked_add(v.rescaled(scale)?)?;
            }
            Some(Exact::Fixed {
                unscaled: total,
                scale,
            })
        };
        exact().unwrap_or_else(|| {
            let mut fs: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
            fs.sort_by(f64::total_cmp);
            Exact::Float(fs.into_iter().sum())
        })
    }

    /// From the binary form: digit count, weight, sign and display scale (16 bits each), then
    /// base-10,000 digits, the first of weight `weight`.
    fn from_binary(b: &[u8]) -> Result<Exact, BoxDynError> {
        let word = |i: usize| -> Result<u16, BoxDynError> {
            b.get(i..i + 2)
                .map(|w| u16::from_be_bytes([w[0], w[1]]))
                .ok_or_else(|| "numeric: short value".into())
        };
        let ndigits = usize::from(word(0)?);
        let weight = i32::from(word(2)? as i16);
        let sign = word(4)?;
        let dscale = u32::from(word(6)?);
        match sign {
            0x0000 | 0x4000 => {}
            0xD000 => return Ok(Exact::Float(f64::INFINITY)),
            0xF000 => return Ok(Exact::Float(f64::NEG_INFINITY)),
            _ => return Ok(Exact::Float(f64::NAN)),
        }
        if b.len() < 8 + 2 * ndigits {
            return Err("numeric: short value".into());
        }
        let digits = b[8..8 + 2 * ndigits]
            .chunks_exact(2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]));
        let neg = sign == 0x4000;
        // unscaled = digits as one integer × 10^(4 × (weight − ndigits + 1) + dscale).
        let exact = || -> Option<Exact> {
            let mut acc: i128 = 0;
            for d in digits.clone() {
                acc = acc.checked_mul(10_000)?.checked_add(i128::from(d))?;
            }
            let exp =
                4 * (weight - i32::try_from(ndigits).ok()? + 1) + i32::try_from(dscale).ok()?;
            if exp >= 0 {
                acc = acc.checked_mul(10i128.checked_pow(exp.unsigned_abs())?)?;
            } else {
                let p = 10i128.checked_pow(exp.unsigned_abs())?;
                if acc % p != 0 {
                    return None;
                }
                acc /= p;
            }
            Some(Exact::Fixed {
                unscaled: if neg { -acc } else { acc },
                scale: dscale,
            })
        };
        Ok(exact().unwrap_or_else(|| {
            let groups: String = digits.map(|d| format!("{d:04}")).collect();
            let text = format!(
                "{}0.{}e{}",
                if neg { "-" } else { "" },
                if groups.is_empty() { "0" } else { &groups },
                4 * (weight + 1)
            );
            Exact::Float(text.parse().unwrap_or(f64::NAN))
        }))
    }

    /// From the text form (`-12.50`, `NaN`, `Infinity`).
    fn from_text(s: &str) -> Exact {
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let digits_only = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
        if !int.is_empty() && digits_only(int) && digits_only(frac) {
            if let Ok(acc) = format!("{int}{frac}").parse::<i128>() {
                if let Ok(scale) = u32::try_from(frac.len()) {
                    return Exact::Fixed {
                        unscaled: if neg { -acc } else { acc },
                        scale,
                    };
                }
            }
        }
        Exact::Float(s.parse().unwrap_or(f64::NAN))
    }
}

impl Type<Postgres> for Exact {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("numeric")
    }
}

impl<'r> Decode<'r, Postgres> for Exact {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => Exact::from_binary(value.as_bytes()?),
            PgValueFormat::Text => Ok(Exact::from_text(value.as_str()?)),
        }
    }
}

/// One piece of one bucket: per sample, how many lines had it and their sum.
pub(super) struct Piece {
    dyno: String,
    ts: DateTime<Utc>,
    n: [i64; K],
    s: [Option<Exact>; K],
}

impl<'r> sqlx::FromRow<'r, PgRow> for Piece {
    /// Columns `dyno, ts`, then `n_<key>, s_<key>` per key in [`METRIC_KEYS`] order.
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let mut n = [0; K];
        let mut s = [None; K];
        for k in 0..K {
            n[k] = row.try_get::<Option<i64>, _>(2 + 2 * k)?.unwrap_or(0);
            s[k] = row.try_get(3 + 2 * k)?;
        }
        Ok(Piece {
            dyno: row.try_get(0)?,
            ts: row.try_get(1)?,
            n,
            s,
        })
    }
}

/// The pieces, ordered by (dyno, bucket), added up per bucket: one row per dyno and bucket,
/// each sample's mean (none where no line had it).
pub(super) fn fold(pieces: Vec<Piece>) -> Vec<MetricsRow> {
    let mut out = Vec::new();
    let mut rest = &pieces[..];
    while let Some(first) = rest.first() {
        let len = rest
            .iter()
            .take_while(|p| p.dyno == first.dyno && p.ts == first.ts)
            .count();
        let (run, tail) = rest.split_at(len);
        let mut means = [None; K];
        for (k, mean) in means.iter_mut().enumerate() {
            let n: i64 = run.iter().map(|p| p.n[k]).sum();
            if n == 0 {
                continue;
            }
            let total = match run {
                [one] => one.s[k],
                _ => {
                    let sums: Vec<Exact> = run.iter().filter_map(|p| p.s[k]).collect();
                    (!sums.is_empty()).then(|| Exact::sum(&sums))
                }
            };
            *mean = total.map(|t| t.to_f64() / n as f64);
        }
        out.push(MetricsRow {
            dyno: first.dyno.clone(),
            ts: first.ts,
            values: MetricValues::from_array(means),
        });
        rest = tail;
    }
    out
}

/// One dyno's averages over one bucket.
#[derive(Debug, Clone)]
pub struct MetricsRow {
    /// PROCID.
    pub dyno: String,
    /// Bucket start.
    pub ts: DateTime<Utc>,
    /// Averages, in [`METRIC_KEYS`] order.
    pub values: MetricValues,
}

/// The averaged samples of one bucket (absent samples are NULL).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct MetricValues {
    pub memory_total: Option<f64>,
    pub memory_rss: Option<f64>,
    pub memory_swap: Option<f64>,
    pub memory_cache: Option<f64>,
    pub memory_quota: Option<f64>,
    pub memory_pgpgin: Option<f64>,
    pub memory_pgpgout: Option<f64>,
    pub load_avg_1m: Option<f64>,
    pub load_avg_5m: Option<f64>,
    pub load_avg_15m: Option<f64>,
}

impl MetricValues {
    /// From every sample, in [`METRIC_KEYS`] order.
    pub fn from_array(v: [Option<f64>; METRIC_KEYS.len()]) -> MetricValues {
        MetricValues {
            memory_total: v[0],
            memory_rss: v[1],
            memory_swap: v[2],
            memory_cache: v[3],
            memory_quota: v[4],
            memory_pgpgin: v[5],
            memory_pgpgout: v[6],
            load_avg_1m: v[7],
            load_avg_5m: v[8],
            load_avg_15m: v[9],
        }
    }

    /// Every sample, in [`METRIC_KEYS`] order.
    pub fn all(&self) -> [Option<f64>; METRIC_KEYS.len()] {
        [
            self.memory_total,
            self.memory_rss,
            self.memory_swap,
            self.memory_cache,
            self.memory_quota,
            self.memory_pgpgin,
            self.memory_pgpgout,
            self.load_avg_1m,
            self.load_avg_5m,
            self.load_avg_15m,
        ]
    }

    /// `(name, value)` for every sample present.
    pub fn present(&self) -> Vec<(&'static str, f64)> {
        METRIC_KEYS
            .iter()
            .zip(self.all())
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(unscaled: i128, scale: u32) -> Exact {
        Exact::Fixed { unscaled, scale }
    }

    #[test]
    fn binary_numerics_decode_exactly() {
        // 12.50: one digit group 12 (weight 0), then 5000 (weight -1); dscale 2.
        let b = [0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x13, 0x88];
        assert_eq!(Exact::from_binary(&b).unwrap(), fixed(1250, 2));
        // -30000: digit 3 of weight 1, dscale 0.
        let b = [0, 1, 0, 1, 0x40, 0, 0, 0, 0, 3];
        assert_eq!(Exact::from_binary(&b).unwrap(), fixed(-30_000, 0));
        // 0 with dscale 3.
        let b = [0, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(Exact::from_binary(&b).unwrap(), fixed(0, 3));
        // 0.0007: digit 7 of weight -1, dscale 4.
        let b = [0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 7];
        assert_eq!(Exact::from_binary(&b).unwrap(), fixed(7, 4));
        // NaN.
        let b = [0, 0, 0, 0, 0xC0, 0, 0, 0];
        assert!(matches!(Exact::from_binary(&b).unwrap(), Exact::Float(f) if f.is_nan()));
        // 1e300: too wide for 128 bits, the nearest f64.
        let b = [0, 1, 0, 75, 0, 0, 0, 0, 0, 1];
        assert_eq!(Exact::from_binary(&b).unwrap(), Exact::Float(1e300));
    }

    #[test]
    fn the_fast_conversion_agrees_with_decimal_parsing() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let unscaled = i128::from(x >> 11) * if x & 1 == 0 { 1 } else { -1 };
            let scale = (x % 23) as u32;
            let parsed: f64 = format!("{unscaled}e-{scale}").parse().unwrap();
            assert_eq!(
                fixed(unscaled, scale).to_f64(),
                parsed,
                "{unscaled}e-{scale}"
            );
        }
    }

    #[test]
    fn text_numerics_decode_exactly() {
        assert_eq!(Exact::from_text("12.50"), fixed(1250, 2));
        assert_eq!(Exact::from_text("-0.007"), fixed(-7, 3));
        assert_eq!(Exact::from_text("42"), fixed(42, 0));
        assert!(matches!(Exact::from_text("NaN"), Exact::Float(f) if f.is_nan()));
    }

    #[test]
    fn sums_are_exact_and_do_not_depend_on_order() {
        let a = [fixed(1, 1), fixed(2, 1), fixed(3, 1)];
        let b = [fixed(3, 1), fixed(1, 1), fixed(2, 1)];
        assert_eq!(Exact::sum(&a), fixed(6, 1));
        assert_eq!(Exact::sum(&a), Exact::sum(&b));
        // 0.1 + 0.2 is 0.3 exactly, so its f64 is the f64 nearest 0.3.
        assert_eq!(Exact::sum(&[fixed(1, 1), fixed(2, 1)]).to_f64(), 0.3);
        assert_eq!(Exact::sum(&[fixed(15, 1), fixed(25, 2)]), fixed(175, 2));
        // Overflow and non-exact values fall back to sorted f64 sums.
        let big = [Exact::Float(1e300), fixed(1, 0), Exact::Float(-1e300)];
        let rev = [Exact::Float(-1e300), fixed(1, 0), Exact::Float(1e300)];
        assert_eq!(Exact::sum(&big), Exact::sum(&rev));
    }

    #[test]
    fn pieces_of_one_bucket_add_up_and_a_missing_sample_stays_missing() {
        let ts = DateTime::from_timestamp(1_700_000_040, 0).unwrap();
        let piece = |dyno: &str, n: i64, s: Option<Exact>| {
            let mut p = Piece {
                dyno: dyno.to_owned(),
                ts,
                n: [0; K],
                s: [None; K],
            };
            p.n[0] = n;
            p.s[0] = s;
            p
        };
        let rows = fold(vec![
            piece("web.1", 2, Some(fixed(3001, 1))),
            piece("web.1", 1, Some(fixed(1000, 1))),
            piece("web.2", 0, None),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].values.memory_total, Some(400.1 / 3.0));
        assert_eq!(rows[0].values.memory_rss, None);
        assert_eq!(rows[1].dyno, "web.2");
        assert_eq!(rows[1].values.memory_total, None);
    }
}
