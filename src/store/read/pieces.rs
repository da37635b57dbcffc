//! The SQL of an aggregate read split into pieces (`store::rollup::split`): the bound
//! parameters of each piece's time range, and the pieces joined into one statement.

use super::micros_to_utc;
use crate::store::rollup::MINUTE_SECS;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::Postgres;

/// The time bounds of a statement's pieces, bound after its fixed parameters.
pub(super) struct Binds {
    /// Parameters before the first bound here ($1 … $fixed).
    fixed: usize,
    values: Vec<Bound>,
}

enum Bound {
    Ts(i64),
    Span(i32),
}

impl Binds {
    pub(super) fn new(fixed: usize) -> Binds {
        Binds {
            fixed,
            values: Vec::new(),
        }
    }

    fn push(&mut self, b: Bound) -> String {
        self.values.push(b);
        format!("${}", self.fixed + self.values.len())
    }

    /// The placeholders `($a, $b)` of the bounds of `[from_us, to_us)`.
    pub(super) fn bounds(&mut self, from_us: i64, to_us: i64) -> (String, String) {
        (self.push(Bound::Ts(from_us)), self.push(Bound::Ts(to_us)))
    }

    /// `col >= $a AND col < $b`.
    pub(super) fn range(&mut self, col: &str, from_us: i64, to_us: i64) -> String {
        let (a, b) = (self.push(Bound::Ts(from_us)), self.push(Bound::Ts(to_us)));
        format!("{col} >= {a} AND {col} < {b}")
    }

    /// Rollup rows in any of the pieces: `span_secs = $s AND bucket >= $a AND bucket < $b OR …`,
    /// and for a piece coarser than a minute, the unmerged minute rows inside it too: the
    /// merge adds a batch's minute rows to the coarse rows, and until it has, they are in no
    /// coarse row (docs/rollups.md).
    pub(super) fn spans(&mut self, pieces: &[(i32, i64, i64)]) -> String {
        let arms: Vec<String> = pieces
            .iter()
            .map(|&(span, a, b)| {
                let s = self.push(Bound::Span(span));
                let range = self.range("bucket", a, b);
                if span == MINUTE_SECS {
                    format!("span_secs = {s} AND {range}")
                } else {
                    format!(
                        "(span_secs = {s} OR span_secs = {MINUTE_SECS} AND NOT merged) AND {range}"
                    )
                }
            })
            .collect();
        arms.join(" OR ")
    }

    pub(super) fn apply<'q, O>(
        self,
        mut q: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments> {
        for v in self.values {
            q = match v {
                Bound::Ts(us) => q.bind(micros_to_utc(us)),
                Bound::Span(s) => q.bind(s),
            };
        }
        q
    }
}

/// The pieces joined by UNION ALL, or `empty` (same columns, no row) when there are none.
pub(super) fn parts_or_empty(parts: &[String], empty: &str) -> String {
    if parts.is_empty() {
        empty.to_owned()
    } else {
        parts.join(" UNION ALL ")
    }
}
