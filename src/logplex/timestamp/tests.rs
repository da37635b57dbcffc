#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use super::*;
use proptest::prelude::*;

/// 2024-05-01T10:00:00Z in microseconds since the epoch.
const MAY_FIRST_TEN: i64 = 1_714_557_600 * MICROS_PER_SECOND;

fn parse(text: &str) -> Option<i64> {
    parse_micros(text.as_bytes())
}

#[test]
fn second_precision_timestamps_parse() {
    assert_eq!(parse("2024-05-01T10:00:00+00:00"), Some(MAY_FIRST_TEN));
}

#[test]
fn fractions_of_three_six_and_nine_digits_become_microseconds() {
    assert_eq!(
        parse("2024-05-01T10:00:00.112+00:00"),
        Some(MAY_FIRST_TEN + 112_000)
    );
    assert_eq!(
        parse("2024-05-01T10:00:00.118264+00:00"),
        Some(MAY_FIRST_TEN + 118_264)
    );
    assert_eq!(
        parse("2024-05-01T10:00:00.118264999Z"),
        Some(MAY_FIRST_TEN + 118_264)
    );
    assert_eq!(
        parse("2024-05-01T10:00:00.71+00:00"),
        Some(MAY_FIRST_TEN + 710_000)
    );
}

#[test]
fn upper_and_lower_case_z_mean_utc() {
    assert_eq!(parse("2024-05-01T10:00:00Z"), Some(MAY_FIRST_TEN));
    assert_eq!(parse("2024-05-01t10:00:00z"), Some(MAY_FIRST_TEN));
}

#[test]
fn numeric_offsets_are_subtracted_to_reach_utc() {
    assert_eq!(parse("2024-05-01T15:30:00+05:30"), Some(MAY_FIRST_TEN));
    assert_eq!(parse("2024-05-01T02:00:00-08:00"), Some(MAY_FIRST_TEN));
    assert_eq!(parse("2024-05-01T02:00:00-0800"), Some(MAY_FIRST_TEN));
}

#[test]
fn impossible_dates_and_times_give_none() {
    for text in [
        "2024-13-01T10:00:00Z",
        "2024-00-01T10:00:00Z",
        "2024-05-32T10:00:00Z",
        "2023-02-29T10:00:00Z",
        "2024-05-01T25:00:00Z",
        "2024-05-01T10:60:00Z",
        "2024-05-01T10:00:61Z",
        "2024-05-01T10:00:00+24:00",
        "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00",
        "2024-05-01T10:00:00+00:00x",
        "-",
        "",
    ] {
        assert_eq!(parse(text), None, "{text}");
    }
}

#[test]
fn leap_days_are_valid_only_in_leap_years() {
    assert!(parse("2024-02-29T00:00:00Z").is_some());
    assert!(parse("2000-02-29T00:00:00Z").is_some());
    assert!(parse("1900-02-29T00:00:00Z").is_none());
}

#[test]
fn dates_before_the_epoch_are_negative() {
    assert_eq!(parse("1969-12-31T23:59:59.5Z"), Some(-500_000));
}

#[test]
fn formatting_writes_the_heroku_shape() {
    let mut out = Vec::new();
    format_micros(MAY_FIRST_TEN + 118_264, &mut out);
    assert_eq!(out, b"2024-05-01T10:00:00.118264+00:00");
}

proptest! {
    #[test]
    fn formatting_then_parsing_returns_the_same_instant(micros in -62_135_596_800_000_000_i64..253_402_300_799_999_999) {
        let mut out = Vec::new();
        format_micros(micros, &mut out);
        prop_assert_eq!(parse_micros(&out), Some(micros));
    }

    #[test]
    fn parsing_agrees_with_chrono(
        year in 1..=9999_i32, month in 1..=12_u32, day in 1..=31_u32,
        hour in 0..=23_u32, minute in 0..=59_u32, second in 0..=59_u32,
        fraction in proptest::option::of("[0-9]{1,9}"),
        offset in proptest::option::of((any::<bool>(), 0..=23_u32, 0..=59_u32)),
    ) {
        let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
        let offset = match offset {
            None => "Z".to_string(),
            Some((negative, h, m)) => format!("{}{h:02}:{m:02}", if negative { '-' } else { '+' }),
        };
        let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{offset}");
        let expected = chrono::DateTime::parse_from_rfc3339(&text)
            .ok()
            .map(|t| t.timestamp() * MICROS_PER_SECOND + i64::from(t.timestamp_subsec_micros()));
        prop_assert_eq!(parse_micros(text.as_bytes()), expected, "{}", text);
    }

    #[test]
    fn formatting_any_instant_never_panics(micros in any::<i64>()) {
        let mut out = Vec::new();
        format_micros(micros, &mut out);
        prop_assert_eq!(out.len(), 32);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
        let _ = parse_micros(&bytes);
    }
}
