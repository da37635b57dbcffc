//! PURE: request stats of one time bucket from service-time histograms, computed in Rust the
//! way Postgres' `percentile_cont` computes them over the lines, to the bit. A day of minute
//! buckets holds about as many (bucket, value) pairs as router lines; summing and walking them
//! here costs a few milliseconds where the same work as SQL window functions took a second.

use super::RequestStats;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One bucket's lines so far: counts, and (value, count) pairs in any order, repeats allowed.
#[derive(Debug, Default)]
pub(super) struct Bucket {
    count: i64,
    errors: i64,
    bytes: i64,
    /// service_ms → lines; `None`: lines without one.
    pairs: Vec<(Option<i32>, i64)>,
}

impl Bucket {
    /// Adds a histogram piece: lines, errors, bytes and its values with their counts (no
    /// counts: each value, repeats included, is one line).
    pub(super) fn add(
        &mut self,
        count: i64,
        errors: i64,
        bytes: i64,
        ms: &[Option<i32>],
        ms_count: Option<&[i64]>,
    ) {
        self.count += count;
        self.errors += errors;
        self.bytes = self.bytes.saturating_add(bytes);
        match ms_count {
            Some(counts) => self
                .pairs
                .extend(ms.iter().copied().zip(counts.iter().copied())),
            None => self.pairs.extend(ms.iter().map(|&v| (v, 1))),
        }
    }

    /// The stats of the bucket, its key written as the line query writes it.
    fn stats(mut self, key: DateTime<Utc>) -> RequestStats {
        // Values ascending; lines without a value are not ordered (percentile_cont skips them).
        let mut values: Vec<(i32, i64)> = self
            .pairs
            .drain(..)
            .filter_map(|(ms, c)| ms.map(|ms| (ms, c)))
            .filter(|&(_, c)| c > 0)
            .collect();
        values.sort_unstable_by_key(|&(ms, _)| ms);
        let n: i64 = values.iter().map(|&(_, c)| c).sum();
        RequestStats {
            key: Some(key.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            count: self.count,
            errors: self.errors,
            p50_ms: percentile_cont(&values, n, 0.5),
            p95_ms: percentile_cont(&values, n, 0.95),
            p99_ms: percentile_cont(&values, n, 0.99),
            max_ms: values.last().map(|&(ms, _)| ms),
            bytes: self.bytes,
        }
    }
}

/// The buckets in key order, at most `limit` of them.
pub(super) fn finish(buckets: BTreeMap<DateTime<Utc>, Bucket>, limit: i64) -> Vec<RequestStats> {
    let limit = usize::try_from(limit).unwrap_or(0);
    buckets
        .into_iter()
        .take(limit)
        .map(|(key, b)| b.stats(key))
        .collect()
}

/// `percentile_cont(p)` over `n` values given as ascending (value, count) runs, as Postgres
/// computes it (orderedsetaggs.c): positions ⌊p·(n−1)⌋ and ⌈p·(n−1)⌉ (0-based) in float8, and
/// `lo + frac × (hi − lo)` in float8. `None` when there is no value.
fn percentile_cont(values: &[(i32, i64)], n: i64, p: f64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let x = p * (n - 1) as f64;
    let (first, second) = (x.floor(), x.ceil());
    let lo = f64::from(value_at(values, first as i64)?);
    if second <= first {
        return Some(lo);
    }
    let hi = f64::from(value_at(values, second as i64)?);
    Some(lo + (x - first) * (hi - lo))
}

/// The value at 0-based position `at` of the runs.
fn value_at(values: &[(i32, i64)], at: i64) -> Option<i32> {
    let mut upto = 0i64;
    for &(ms, c) in values {
        upto += c;
        if upto > at {
            return Some(ms);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// percentile_cont over the expanded values, as the definition reads.
    fn naive(values: &[i32], p: f64) -> Option<f64> {
        let mut v = values.to_vec();
        v.sort_unstable();
        if v.is_empty() {
            return None;
        }
        let x = p * (v.len() - 1) as f64;
        let (a, b) = (x.floor() as usize, x.ceil() as usize);
        let (lo, hi) = (f64::from(v[a]), f64::from(v[b]));
        Some(if b > a {
            lo + (x - a as f64) * (hi - lo)
        } else {
            lo
        })
    }

    #[test]
    fn runs_answer_what_the_expanded_values_answer() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..500 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let values: Vec<i32> = (0..len)
                .map(|i| ((seed >> (i % 50)) % 97) as i32 * ((i % 3) as i32 + 1))
                .collect();
            let mut b = Bucket::default();
            for v in &values {
                b.add(1, 0, 0, &[Some(*v)], None);
            }
            b.add(1, 1, 7, &[None], Some(&[1]));
            let key = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("time");
            let s = b.stats(key);
            assert_eq!(s.count, len as i64 + 1);
            assert_eq!(s.errors, 1);
            assert_eq!(s.bytes, 7);
            assert_eq!(s.p50_ms, naive(&values, 0.5));
            assert_eq!(s.p95_ms, naive(&values, 0.95));
            assert_eq!(s.p99_ms, naive(&values, 0.99));
            assert_eq!(s.max_ms, values.iter().max().copied());
        }
    }

    #[test]
    fn a_multiset_and_its_counted_runs_answer_the_same() {
        let values = [
            Some(3),
            Some(3),
            Some(5),
            Some(9),
            Some(9),
            Some(9),
            None,
            None,
        ];
        let mut multiset = Bucket::default();
        multiset.add(8, 2, 40, &values, None);
        let mut runs = Bucket::default();
        runs.add(
            8,
            2,
            40,
            &[Some(3), Some(5), Some(9), None],
            Some(&[2, 1, 3, 2]),
        );
        let key = DateTime::<Utc>::from_timestamp(0, 0).expect("time");
        let (a, b) = (multiset.stats(key), runs.stats(key));
        assert_eq!(
            (a.count, a.errors, a.bytes, a.p50_ms, a.p95_ms, a.p99_ms, a.max_ms),
            (b.count, b.errors, b.bytes, b.p50_ms, b.p95_ms, b.p99_ms, b.max_ms)
        );
        assert_eq!(a.p50_ms, Some(7.0));
    }

    #[test]
    fn a_bucket_without_values_has_no_percentiles() {
        let mut b = Bucket::default();
        b.add(3, 0, 0, &[None], Some(&[3]));
        let s = b.stats(DateTime::<Utc>::from_timestamp(0, 0).expect("time"));
        assert_eq!((s.count, s.p50_ms, s.max_ms), (3, None, None));
        assert_eq!(s.key.as_deref(), Some("1970-01-01T00:00:00Z"));
    }
}
