//! One line looked up by id for the log viewer's detail view: its raw bytes and the app's
//! lines just before and after it, read in one `Store::read` transaction.

use super::compact::all_of_app;
use super::{select_lines, LineRow};
use crate::store::{Store, StoreError};
use sqlx::QueryBuilder;

/// A line, its stored bytes and its neighbours in the app's timeline.
#[derive(Debug, Clone)]
pub struct LineContext {
    /// The line itself.
    pub line: LineRow,
    /// The bytes it arrived as (`lines.raw`).
    pub raw: Vec<u8>,
    /// Up to `around` earlier lines of the app, oldest first.
    pub before: Vec<LineRow>,
    /// Up to `around` later lines of the app, oldest first.
    pub after: Vec<LineRow>,
}

impl Store {
    /// Line `id` of app `app_id` with its raw bytes and up to `around` lines on each side
    /// (by timestamp, then id); `None` when the app has no such line.
    pub async fn line_context(
        &self,
        app_id: i64,
        id: i64,
        around: i64,
    ) -> Result<Option<LineContext>, StoreError> {
        self.read(move |c| {
            Box::pin(async move {
                // Both tiers: the chunk holding the id, and for the neighbours the chunks
                // whose time reaches the line's (compact::all_of_app).
                let one = all_of_app(
                    app_id,
                    &format!("AND c.min_id <= {id} AND c.max_id >= {id}"),
                );
                let mut qb = QueryBuilder::new("");
                select_lines(&mut qb, &one);
                qb.push(" WHERE app_id = ")
                    .push_bind(app_id)
                    .push(" AND id = ")
                    .push_bind(id);
                let Some(line) = qb
                    .build_query_as::<LineRow>()
                    .fetch_optional(&mut *c)
                    .await?
                else {
                    return Ok(None);
                };
                let raw: Vec<u8> =
                    sqlx::query_scalar(&format!("SELECT raw FROM {one} WHERE id = $1 AND ts = $2"))
                        .bind(id)
                        .bind(line.ts)
                        .fetch_one(&mut *c)
                        .await?;
                let side = |older: bool| {
                    let (cmp, order) = if older { ("<", "DESC") } else { (">", "ASC") };
                    let ts = line.ts.to_rfc3339();
                    // A chunk may hold an older (newer) line only if it starts before (ends
                    // after) this one.
                    let edge = if older { "c.min_ts <=" } else { "c.max_ts >=" };
                    let near = all_of_app(app_id, &format!("AND {edge} '{ts}'"));
                    let mut qb = QueryBuilder::new("");
                    select_lines(&mut qb, &near);
                    qb.push(" WHERE app_id = ")
                        .push_bind(app_id)
                        .push(format!(" AND (ts, id) {cmp} ("))
                        .push_bind(line.ts)
                        .push(", ")
                        .push_bind(id)
                        .push(format!(") ORDER BY ts {order}, id {order} LIMIT "))
                        .push_bind(around);
                    qb
                };
                let mut before: Vec<LineRow> =
                    side(true).build_query_as().fetch_all(&mut *c).await?;
                before.reverse();
                let after: Vec<LineRow> = side(false).build_query_as().fetch_all(&mut *c).await?;
                Ok(Some(LineContext {
                    line,
                    raw,
                    before,
                    after,
                }))
            })
        })
        .await
    }
}
