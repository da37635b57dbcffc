//! PURE: the arithmetic of partitions: slots aligned to UTC midnight, table names, the ranges
//! still missing, and timestamps as DDL literals. No I/O.

use chrono::{DateTime, Timelike, Utc};
use std::time::Duration;

/// A day in microseconds.
pub(super) const DAY_US: i64 = 86_400_000_000;

/// Checks a partition interval: whole hours that divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d).
pub fn check_interval(interval: Duration) -> Result<(), String> {
    let secs = interval.as_secs();
    if interval.subsec_nanos() == 0 && secs > 0 && secs % 3600 == 0 && 86_400 % secs == 0 {
        Ok(())
    } else {
        Err("must be whole hours that divide a day: 1h, 2h, 3h, 4h, 6h, 8h, 12h or 1d".into())
    }
}

/// PURE: the start of the slot of width `interval_us` holding `us` (slots align to the epoch,
/// hence to UTC midnight since the interval divides a day).
pub fn slot_start(us: i64, interval_us: i64) -> i64 {
    us.div_euclid(interval_us) * interval_us
}

/// PURE: the table name of a partition starting at `from_us` and ending at `to_us`:
/// `lines_p20261121` for a whole UTC day, `lines_p20261121_0600` otherwise.
pub fn partition_name(from_us: i64, to_us: i64) -> String {
    let from = to_utc(from_us);
    if from_us.rem_euclid(DAY_US) == 0 && to_us - from_us == DAY_US {
        format!("lines_p{}", from.format("%Y%m%d"))
    } else {
        format!(
            "lines_p{}_{:02}{:02}",
            from.format("%Y%m%d"),
            from.hour(),
            from.minute()
        )
    }
}

/// PURE: the slots of width `interval_us` covering `[from_us, to_us)`, minus what `existing`
/// ranges already cover (a slot that overlaps one is cut down to the uncovered part, which
/// happens only after the interval setting changed).
pub fn missing_ranges(
    from_us: i64,
    to_us: i64,
    interval_us: i64,
    existing: &[(i64, i64)],
) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut slot = slot_start(from_us, interval_us);
    while slot < to_us {
        let end = slot + interval_us;
        let mut pieces = vec![(slot, end)];
        for &(a, b) in existing {
            let mut next = Vec::with_capacity(pieces.len() + 1);
            for (s, e) in pieces {
                if b <= s || e <= a {
                    next.push((s, e));
                    continue;
                }
                if s < a {
                    next.push((s, a));
                }
                if b < e {
                    next.push((b, e));
                }
            }
            pieces = next;
        }
        out.extend(pieces);
        slot = end;
    }
    out
}

pub(super) fn to_utc(us: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(us).unwrap_or_default()
}

pub(super) fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// A timestamp as an SQL literal (DDL takes no bind parameters). Produced from an integer, so
/// it cannot carry anything but digits and separators.
pub(super) fn ts_literal(us: i64) -> String {
    format!("'{}'", to_utc(us).format("%Y-%m-%d %H:%M:%S%.6f+00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_763_683_200_000_000; // 2025-11-21T00:00:00Z
    const HOUR_US: i64 = 3_600_000_000;

    #[test]
    fn slots_align_to_utc_midnight() {
        assert_eq!(slot_start(T0 + 5 * HOUR_US, DAY_US), T0);
        assert_eq!(slot_start(T0 + 5 * HOUR_US, 6 * HOUR_US), T0);
        assert_eq!(slot_start(T0 + 7 * HOUR_US, 6 * HOUR_US), T0 + 6 * HOUR_US);
        assert_eq!(slot_start(-1, DAY_US), -DAY_US);
    }

    #[test]
    fn names_say_the_day_or_the_hour() {
        assert_eq!(partition_name(T0, T0 + DAY_US), "lines_p20251121");
        assert_eq!(
            partition_name(T0 + 6 * HOUR_US, T0 + 12 * HOUR_US),
            "lines_p20251121_0600"
        );
        assert_eq!(partition_name(T0, T0 + HOUR_US), "lines_p20251121_0000");
    }

    #[test]
    fn missing_ranges_skip_and_cut_around_existing_ones() {
        assert_eq!(
            missing_ranges(T0, T0 + 2 * DAY_US, DAY_US, &[]),
            vec![(T0, T0 + DAY_US), (T0 + DAY_US, T0 + 2 * DAY_US)]
        );
        assert_eq!(
            missing_ranges(T0, T0 + 2 * DAY_US, DAY_US, &[(T0, T0 + DAY_US)]),
            vec![(T0 + DAY_US, T0 + 2 * DAY_US)]
        );
        // After the interval changed from 6h to 1d: only the uncovered part of the day.
        assert_eq!(
            missing_ranges(
                T0 + HOUR_US,
                T0 + 2 * HOUR_US,
                DAY_US,
                &[(T0, T0 + 6 * HOUR_US)]
            ),
            vec![(T0 + 6 * HOUR_US, T0 + DAY_US)]
        );
        assert!(missing_ranges(T0, T0 + 1, DAY_US, &[(T0 - DAY_US, T0 + 2 * DAY_US)]).is_empty());
    }

    #[test]
    fn intervals_must_divide_a_day() {
        for ok in [1, 2, 3, 4, 6, 8, 12, 24] {
            assert!(
                check_interval(Duration::from_secs(ok * 3600)).is_ok(),
                "{ok}h"
            );
        }
        for bad in [0, 1800, 5 * 3600, 2 * 86_400] {
            assert!(check_interval(Duration::from_secs(bad)).is_err(), "{bad}s");
        }
    }

    #[test]
    fn timestamp_literals_are_plain_utc() {
        assert_eq!(ts_literal(T0 + 1), "'2025-11-21 00:00:00.000001+00'");
    }
}
