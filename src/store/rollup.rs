//! PURE: what a batch of lines adds to the rollups (migrations/0006, docs/rollups.md), and how a
//! read splits its time range into whole days, hours and minutes read from rollups and the
//! sub-minute edges read from `lines`. The SQL that writes and merges them is in `rollup/sql.rs`.

pub mod metric_cells;
mod sql;

pub use sql::AGED_DIMS;
pub(crate) use sql::{age_keyed_minutes, forget, insert, keyed_minutes_from, merge};

use crate::record::{write_fields_json, Kind, LogRecord};
use std::collections::{BTreeMap, HashMap};

/// The bucket widths rollups are kept at, finest first: a minute, an hour, 6 hours, a UTC day,
/// 4 days, each a multiple of the one before, on grids from the Unix epoch. The coarser widths
/// are there because an exact histogram does not shrink much below a day's worth of distinct
/// values: a 30-day read adds up about 7 four-day rows per key instead of 29 day rows.
pub const SPANS_SECS: [i32; 5] = [60, 3_600, 21_600, 86_400, 345_600];

/// The width of the rows a batch writes. Only the merge writes coarser rows, from minute rows
/// (`rollup::merge`): a batch writes each line's service time once per grouping, not once per
/// grouping and width.
pub const MINUTE_SECS: i32 = 60;

/// The runtime-metrics samples the metric rollups sum and `/metrics` averages, in output
/// order.
pub const METRIC_KEYS: &[&str] = &[
    "memory_total",
    "memory_rss",
    "memory_swap",
    "memory_cache",
    "memory_quota",
    "memory_pgpgin",
    "memory_pgpgout",
    "load_avg_1m",
    "load_avg_5m",
    "load_avg_15m",
];

const MINUTE_US: i64 = 60_000_000;

/// The groupings of router lines, one per `/stats/requests?by=` family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dim {
    /// No key: by=minute and by=hour read these.
    All,
    /// The normalised path (by=path).
    Route,
    /// The status, as text (by=status).
    Status,
    /// The router's `dyno=` (by=dyno).
    Dyno,
    /// by=method.
    Method,
    /// by=host.
    Host,
}

impl Dim {
    const ALL: [Dim; 6] = [
        Dim::All,
        Dim::Route,
        Dim::Status,
        Dim::Dyno,
        Dim::Method,
        Dim::Host,
    ];

    /// The `dim` column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::All => "all",
            Dim::Route => "route",
            Dim::Status => "status",
            Dim::Dyno => "dyno",
            Dim::Method => "method",
            Dim::Host => "host",
        }
    }
}

/// One group's lines in one bucket: counts, bytes and the exact service-time histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// Router lines.
    pub count: i64,
    /// Lines with status >= 500.
    pub errors: i64,
    /// Sum of `bytes` (absent counts 0).
    pub bytes: i64,
    /// service_ms → lines with that value.
    pub hist: BTreeMap<i32, i64>,
    /// Lines without a service_ms.
    pub no_ms: i64,
}

impl Cell {
    fn add(&mut self, other: &Cell) {
        self.count += other.count;
        self.errors += other.errors;
        self.bytes = self.bytes.saturating_add(other.bytes);
        for (ms, n) in &other.hist {
            *self.hist.entry(*ms).or_default() += n;
        }
        self.no_ms += other.no_ms;
    }
}

/// The cells of one (app, bucket, dimension), by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Groups {
    /// Keyed groups.
    pub keyed: HashMap<Box<str>, Cell>,
    /// The group of lines without a key (no route, no host, …).
    pub none: Option<Cell>,
}

impl Groups {
    fn cell(&mut self, key: Option<&str>) -> &mut Cell {
        match key {
            None => self.none.get_or_insert_with(Cell::default),
            // Look up by &str first: a new key is allocated once, not on every line.
            Some(k) if self.keyed.contains_key(k) => match self.keyed.get_mut(k) {
                Some(cell) => cell,
                None => unreachable!("the key was just found"),
            },
            Some(k) => self.keyed.entry(k.into()).or_default(),
        }
    }

    fn add(&mut self, other: &Groups) {
        for (k, c) in &other.keyed {
            self.cell(Some(k)).add(c);
        }
        if let Some(c) = &other.none {
            self.cell(None).add(c);
        }
    }
}

/// A line the rollup SQL aggregates itself: a coded line (`/stats/errors` reads its `desc`)
/// or a runtime-metrics line (`/metrics` reads its samples). Both are a small share of lines,
/// and letting Postgres read the same `fields` JSON the line stores keeps `->>` semantics
/// (duplicate keys, number text) identical to the line queries.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    /// The app.
    pub app_id: i64,
    /// The line's timestamp, µs since the Unix epoch.
    pub ts_us: i64,
    /// The code (coded lines) or the dyno (metrics lines).
    pub key: String,
    /// The line's `fields` as stored, or None when it has none.
    pub fields: Option<String>,
}

/// What a set of stored lines adds to the rollups. Built per request beside the COPY rows;
/// the batch writer adds up the rollups of the requests it commits and writes them in the
/// same transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    /// Router lines per (app, minute start µs, dimension).
    pub requests: BTreeMap<(i64, i64, Dim), Groups>,
    /// Lines with an H/R/L code.
    pub codes: Vec<Sampled>,
    /// Runtime-metrics lines per (app, minute, dyno), summed here.
    pub metric_cells: metric_cells::Cells,
    /// Runtime-metrics lines left to the SQL (fields kept as JSON text, an exponent, an
    /// overflow): rare.
    pub metrics: Vec<Sampled>,
}

impl Rollup {
    /// The rollup of `records`, lines of app `app_id` about to be stored.
    pub fn of(app_id: i64, records: &[LogRecord<'_>]) -> Rollup {
        let mut out = Rollup::default();
        let mut status_text = String::new();
        for rec in records {
            let c = &rec.columns;
            if rec.kind == Kind::Router {
                let minute = rec.ts_us.div_euclid(MINUTE_US) * MINUTE_US;
                status_text.clear();
                if let Some(s) = c.status {
                    status_text.push_str(&s.to_string());
                }
                for dim in Dim::ALL {
                    let key = match dim {
                        Dim::All => None,
                        Dim::Route => c.route.as_deref(),
                        Dim::Status => c.status.map(|_| status_text.as_str()),
                        Dim::Dyno => c.router_dyno.as_deref(),
                        Dim::Method => c.method.as_deref(),
                        Dim::Host => c.host.as_deref(),
                    };
                    let cell = out
                        .requests
                        .entry((app_id, minute, dim))
                        .or_default()
                        .cell(key);
                    cell.count += 1;
                    if c.status.is_some_and(|s| s >= 500) {
                        cell.errors += 1;
                    }
                    cell.bytes = cell.bytes.saturating_add(c.bytes.unwrap_or(0));
                    match c.service_ms {
                        Some(ms) => *cell.hist.entry(ms).or_default() += 1,
                        None => cell.no_ms += 1,
                    }
                }
            }
            let sampled = |key: &str| {
                let mut json = Vec::new();
                let fields = write_fields_json(&rec.fields, &mut json)
                    .then(|| String::from_utf8_lossy(&json).into_owned());
                Sampled {
                    app_id,
                    ts_us: rec.ts_us,
                    key: key.to_owned(),
                    fields,
                }
            };
            if let Some(code) = c.code.as_deref() {
                out.codes.push(sampled(code));
            }
            if rec.kind == Kind::RuntimeMetric {
                let minute = rec.ts_us.div_euclid(MINUTE_US) * MINUTE_US;
                match metric_cells::samples_of(rec) {
                    Some(samples) => metric_cells::add_samples(
                        out.metric_cells
                            .entry((app_id, minute, rec.dyno.to_string()))
                            .or_default(),
                        &samples,
                    ),
                    None => out.metrics.push(sampled(&rec.dyno)),
                }
            }
        }
        out
    }

    /// Adds `other` to this rollup.
    pub fn absorb(&mut self, other: &Rollup) {
        for (k, g) in &other.requests {
            self.requests.entry(*k).or_default().add(g);
        }
        self.codes.extend(other.codes.iter().cloned());
        for (k, samples) in &other.metric_cells {
            metric_cells::add_samples(self.metric_cells.entry(k.clone()).or_default(), samples);
        }
        self.metrics.extend(other.metrics.iter().cloned());
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
            && self.codes.is_empty()
            && self.metric_cells.is_empty()
            && self.metrics.is_empty()
    }

    /// The request rows a batch writes: minute rows only, ((app, 60, minute µs, dim), groups).
    /// The coarser rows are built from them by the merge (`rollup::merge`).
    pub fn request_rows(&self) -> BTreeMap<(i64, i32, i64, Dim), Groups> {
        let mut out: BTreeMap<(i64, i32, i64, Dim), Groups> = BTreeMap::new();
        for ((app, minute, dim), groups) in &self.requests {
            out.entry((*app, MINUTE_SECS, *minute, *dim))
                .or_default()
                .add(groups);
        }
        out
    }
}

/// `us` rounded down to a multiple of `span_secs` seconds since the epoch.
pub fn floor(us: i64, span_secs: i32) -> i64 {
    let span = i64::from(span_secs) * 1_000_000;
    us.div_euclid(span) * span
}

/// `us` rounded up to a multiple of `span_secs` seconds since the epoch.
pub fn ceil(us: i64, span_secs: i32) -> i64 {
    let span = i64::from(span_secs) * 1_000_000;
    let f = floor(us, span_secs);
    if f == us {
        us
    } else {
        f.saturating_add(span)
    }
}

/// How one read covers `[since, until)`: ranges of `lines` and ranges of rollup buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pieces {
    /// `[from, to)` ranges (µs) read from `lines`: the parts no whole rollup bucket covers.
    pub lines: Vec<(i64, i64)>,
    /// `(span_secs, from, to)`: rollup rows of that span whose bucket starts in `[from, to)`.
    pub rollups: Vec<(i32, i64, i64)>,
}

impl Pieces {
    /// The minute pieces below `horizon_us` read from the lines instead (a grouping whose
    /// minute rows are gone from there: `AGED_DIMS`). Coarser pieces are unchanged.
    pub fn minutes_from_lines_below(mut self, horizon_us: i64) -> Pieces {
        let mut rollups = Vec::with_capacity(self.rollups.len());
        for (span, a, b) in self.rollups {
            if span != 60 || b <= a || a >= horizon_us {
                rollups.push((span, a, b));
            } else if b <= horizon_us {
                self.lines.push((a, b));
            } else {
                self.lines.push((a, horizon_us));
                rollups.push((span, horizon_us, b));
            }
        }
        self.rollups = rollups;
        self.lines.sort_unstable();
        // Adjacent line ranges as one: fewer pieces to read.
        let mut lines: Vec<(i64, i64)> = Vec::with_capacity(self.lines.len());
        for (a, b) in self.lines {
            match lines.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => lines.push((a, b)),
            }
        }
        self.lines = lines;
        self
    }
}

/// Splits `[since, until)` into the coarsest whole buckets up to `max_span_secs` (0: no
/// rollups, everything from `lines`). Every instant of the range is in exactly one piece.
pub fn split(since: i64, until: i64, max_span_secs: i32) -> Pieces {
    let mut out = Pieces::default();
    let spans: Vec<i32> = SPANS_SECS
        .into_iter()
        .filter(|s| *s <= max_span_secs)
        .collect();
    let (mut lo, mut hi) = (since, until);
    // Edges at the finer level are what lies between the range and the next coarser grid.
    let mut edges: Vec<(Option<i32>, i64, i64)> = Vec::new();
    let mut finer: Option<i32> = None;
    for span in spans {
        let (a, b) = (ceil(lo, span), floor(hi, span));
        if a >= b {
            break;
        }
        edges.push((finer, lo, a));
        edges.push((finer, b, hi));
        (lo, hi, finer) = (a, b, Some(span));
    }
    edges.push((finer, lo, hi));
    for (span, a, b) in edges {
        if a >= b {
            continue;
        }
        match span {
            None => out.lines.push((a, b)),
            Some(s) => out.rollups.push((s, a, b)),
        }
    }
    out.lines.sort_unstable();
    out.rollups.sort_unstable();
    out
}

#[cfg(test)]
mod tests;
