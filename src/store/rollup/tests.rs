use super::*;
use proptest::prelude::*;

const M: i64 = 60_000_000;
const H: i64 = 60 * M;
const D: i64 = 24 * H;

/// That `p` covers `[since, until)` with every instant in exactly one piece.
fn covers_once(p: &Pieces, since: i64, until: i64) -> Result<(), TestCaseError> {
    let mut at = since;
    for (a, b) in covered(p) {
        prop_assert_eq!(a, at);
        prop_assert!(a < b);
        at = b;
    }
    prop_assert_eq!(at, if until == since { since } else { until });
    Ok(())
}

fn covered(p: &Pieces) -> Vec<(i64, i64)> {
    let mut all: Vec<(i64, i64)> = p
        .lines
        .iter()
        .copied()
        .chain(p.rollups.iter().map(|&(_, a, b)| (a, b)))
        .collect();
    all.sort_unstable();
    all
}

#[test]
fn a_month_is_days_inside_hours_inside_minutes_inside_line_edges() {
    let since = 3 * D + 14 * H + 3 * M + 27_000_000;
    let until = since + 30 * D;
    let p = split(since, until, 86_400);
    assert_eq!(
        p.lines,
        vec![(since, since + 33_000_000), (until - 27_000_000, until)]
    );
    assert_eq!(
        p.rollups,
        vec![
            (60, 3 * D + 14 * H + 4 * M, 3 * D + 15 * H),
            (60, 33 * D + 14 * H, 33 * D + 14 * H + 3 * M),
            (3_600, 3 * D + 15 * H, 3 * D + 18 * H),
            (3_600, 33 * D + 12 * H, 33 * D + 14 * H),
            (21_600, 3 * D + 18 * H, 4 * D),
            (21_600, 33 * D, 33 * D + 12 * H),
            (86_400, 4 * D, 33 * D),
        ]
    );
    // With 4-day rows: days only at the ends.
    let p = split(since, until, i32::MAX);
    assert_eq!(
        &p.rollups[4..],
        &[
            (21_600, 3 * D + 18 * H, 4 * D),
            (21_600, 33 * D, 33 * D + 12 * H),
            (86_400, 32 * D, 33 * D),
            (345_600, 4 * D, 32 * D),
        ]
    );
}

#[test]
fn a_range_inside_one_minute_is_read_from_lines_only() {
    let p = split(10 * M + 1, 10 * M + 59_000_000, 86_400);
    assert_eq!(p.lines, vec![(10 * M + 1, 10 * M + 59_000_000)]);
    assert!(p.rollups.is_empty());
}

#[test]
fn rollups_off_reads_everything_from_lines() {
    let p = split(0, 40 * D, 0);
    assert_eq!(p.lines, vec![(0, 40 * D)]);
    assert!(p.rollups.is_empty());
}

#[test]
fn by_minute_never_reads_hour_rows() {
    let p = split(0, 3 * H, 60);
    assert_eq!(p.rollups, vec![(60, 0, 3 * H)]);
    assert!(p.lines.is_empty());
}

proptest! {
    #[test]
    fn every_instant_is_in_exactly_one_piece_and_buckets_are_whole(
        since in -5 * D..40 * D,
        len in 0i64..35 * D,
        max in prop::sample::select(vec![0, 60, 3_600, 21_600, 86_400, 345_600]),
    ) {
        let until = since + len;
        let p = split(since, until, max);
        covers_once(&p, since, until)?;
        for (span, a, b) in &p.rollups {
            prop_assert!(*span <= max);
            prop_assert_eq!(floor(*a, *span), *a);
            prop_assert_eq!(floor(*b, *span), *b);
        }
        prop_assert!(p.lines.len() <= 2);
    }
}

#[test]
fn a_router_line_counts_once_in_every_dimension_as_a_minute_row() {
    let body = b"<158>1 2024-05-01T10:00:01.5+00:00 host heroku router - at=info method=GET \
path=\"/items/42?x=1\" host=shop.example request_id=r1 fwd=\"1.2.3.4\" dyno=web.1 connect=0ms \
service=12ms status=503 bytes=7 protocol=https\n";
    let framed = format!("{} {}", body.len(), String::from_utf8_lossy(body));
    let processed = crate::pipeline::process_body(framed.as_bytes(), 1 << 20, 0);
    let r = Rollup::of(7, &processed.records);
    let rows = r.request_rows();
    // 6 dimensions, minute rows only: the merge builds the coarser ones.
    assert_eq!(rows.len(), 6);
    for ((app, span, bucket, dim), groups) in &rows {
        assert_eq!(*app, 7);
        assert_eq!(*span, 60);
        assert_eq!(*bucket, 1_714_557_600_000_000);
        let cells: Vec<&Cell> = groups.keyed.values().chain(groups.none.iter()).collect();
        assert_eq!(cells.len(), 1, "{dim:?}");
        assert_eq!(cells[0].count, 1);
        assert_eq!(cells[0].errors, 1);
        assert_eq!(cells[0].bytes, 7);
        assert_eq!(cells[0].hist.get(&12), Some(&1));
    }
    let route = &rows[&(7, 60, 1_714_557_600_000_000, Dim::Route)];
    assert!(route.keyed.contains_key("/items/:id"));
    let status = &rows[&(7, 60, 1_714_557_600_000_000, Dim::Status)];
    assert!(status.keyed.contains_key("503"));
    assert!(r.codes.is_empty() && r.metrics.is_empty());

    let mut twice = r.clone();
    twice.absorb(&r);
    let rows2 = twice.request_rows();
    assert_eq!(
        rows2[&(7, 60, 1_714_557_600_000_000, Dim::All)]
            .none
            .as_ref()
            .map(|c| c.count),
        Some(2)
    );
}

proptest! {
    #[test]
    fn minutes_below_a_horizon_come_from_lines_and_nothing_else_moves(
        since in -5 * D..40 * D,
        len in 0i64..35 * D,
        horizon_hours in -200i64..1_200,
    ) {
        let until = since + len;
        let h = horizon_hours * H;
        let before = split(since, until, i32::MAX);
        let after = before.clone().minutes_from_lines_below(h);
        // Still every instant once.
        covers_once(&after, since, until)?;
        // No minute row below the horizon; coarser pieces as they were.
        for (span, a, _) in &after.rollups {
            prop_assert!(*span > 60 || *a >= h);
        }
        let coarse = |p: &Pieces| -> Vec<(i32, i64, i64)> {
            p.rollups.iter().copied().filter(|r| r.0 > 60).collect()
        };
        prop_assert_eq!(coarse(&before), coarse(&after));
        // Minute pieces above the horizon stay rollups.
        for (span, a, b) in &before.rollups {
            if *span == 60 && *a >= h {
                prop_assert!(after.rollups.contains(&(60, *a, *b)));
            }
        }
    }
}

#[test]
fn an_old_range_reads_its_sub_hour_edges_from_lines() {
    // 10:30 on day 1 to 12:15 on day 3, horizon at day 2: the first edge from lines (its
    // 30 minutes and nothing finer), the last edge still from minute rows.
    let (since, until) = (D + 10 * H + 30 * M, 3 * D + 12 * H + 15 * M);
    let p = split(since, until, i32::MAX).minutes_from_lines_below(2 * D);
    assert_eq!(p.lines, vec![(since, D + 11 * H)]);
    assert!(p.rollups.contains(&(60, 3 * D + 12 * H, until)));
    assert!(!p.rollups.iter().any(|r| r.0 == 60 && r.1 < 2 * D));
}
