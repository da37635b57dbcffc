//! PURE: how lines are written out: `heroku logs` text, the LINE JSON object, SSE events.

use crate::logplex::timestamp::format_micros;
use crate::record::Level;
use crate::store::filter::TimeRange;
use crate::store::read::{micros_to_utc, LineRow, MetricsRow, METRIC_KEYS};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// RFC 3339 in UTC with microseconds and `Z`, as the JSON formats write times.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The level name of a stored severity number.
pub fn level_name(severity: i16) -> &'static str {
    Level::from_severity(u8::try_from(severity).unwrap_or(7)).as_str()
}

/// Joins the rows of a split line whose chunks were stored separately (they came in different
/// requests): a `continued` row absorbs the next row of the same source, dyno and timestamp
/// (other dynos' lines with that timestamp may sit in between). `rows` are oldest first.
pub fn join_continued(rows: Vec<LineRow>) -> Vec<LineRow> {
    let mut slots: Vec<Option<LineRow>> = rows.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        while let Some(head) = slots[i].as_ref().filter(|h| h.continued) {
            let next = (i + 1..slots.len())
                .take_while(|&j| slots[j].as_ref().map_or(true, |r| r.ts == head.ts))
                .find(|&j| {
                    slots[j]
                        .as_ref()
                        .is_some_and(|r| r.dyno == head.dyno && r.source == head.source)
                });
            let Some(j) = next else { break };
            let Some(rest) = slots[j].take() else { break };
            if let Some(head) = slots[i].as_mut() {
                head.message.push_str(&rest.message);
                head.continued = rest.continued;
            }
        }
    }
    slots.into_iter().flatten().collect()
}

/// Appends one line exactly as `heroku logs` prints it:
/// `2026-11-01T10:00:00.118264+00:00 heroku[router]: message` and a newline.
pub fn push_text(out: &mut Vec<u8>, row: &LineRow) {
    format_micros(row.ts.timestamp_micros(), out);
    out.push(b' ');
    out.extend_from_slice(row.source.as_bytes());
    out.push(b'[');
    out.extend_from_slice(row.dyno.as_bytes());
    out.extend_from_slice(b"]: ");
    out.extend_from_slice(row.message.as_bytes());
    out.push(b'\n');
}

/// The `Line` object of the query API (docs/lines.md); `trace_id` and `span_id` only on lines
/// that carry them (docs/OTLP.md).
pub fn line_json(row: &LineRow, app: &str) -> Value {
    let mut line = json!({
        "id": row.id.to_string(),
        "app": app,
        "ts": rfc3339(&row.ts),
        "received_at": rfc3339(&row.received_at),
        "source": row.source,
        "dyno": row.dyno,
        "kind": row.kind,
        "level": level_name(row.level),
        "message": row.message,
        "fields": row.fields.0,
        "tags": row.tags.as_ref().map_or_else(|| json!({}), |t| t.0.clone()),
    });
    if let Some(map) = line.as_object_mut() {
        if let Some(id) = &row.trace_id {
            map.insert("trace_id".into(), Value::from(id.as_str()));
        }
        if let Some(id) = &row.span_id {
            map.insert("span_id".into(), Value::from(id.as_str()));
        }
    }
    line
}

/// Appends one line as NDJSON.
pub fn push_ndjson(out: &mut Vec<u8>, row: &LineRow, app: &str) {
    let _ = serde_json::to_writer(&mut *out, &line_json(row, app));
    out.push(b'\n');
}

/// Appends one line as a Server-Sent Event (`id:` is the line id, `data:` its JSON).
pub fn push_sse(out: &mut Vec<u8>, row: &LineRow, app: &str) {
    out.extend_from_slice(format!("id: {}\ndata: ", row.id).as_bytes());
    let _ = serde_json::to_writer(&mut *out, &line_json(row, app));
    out.extend_from_slice(b"\n\n");
}

/// The `/metrics` answer, written straight from the rows (a week of minutes is 40,000 points
/// per dyno set; building a JSON value of each first cost more than the query). The bytes are
/// those of the JSON map it replaces: keys in sorted order (`bucket`, `dynos`, `since`,
/// `until`; dynos by name, byte-wise, as the rows come; in each point the samples present by
/// name, then `ts`), numbers and strings written by serde_json.
pub fn metrics_json(rows: &[MetricsRow], bucket: &str, range: TimeRange) -> Vec<u8> {
    // The samples of a point in the order of their names.
    let mut order: Vec<usize> = (0..METRIC_KEYS.len()).collect();
    order.sort_by_key(|&i| METRIC_KEYS[i]);
    let mut out = Vec::with_capacity(64 + rows.len() * 200);
    let text = |out: &mut Vec<u8>, s: &str| {
        let _ = serde_json::to_writer(&mut *out, s);
    };
    out.extend_from_slice(b"{\"bucket\":");
    text(&mut out, bucket);
    out.extend_from_slice(b",\"dynos\":{");
    let mut dyno: Option<&str> = None;
    for row in rows {
        if dyno != Some(row.dyno.as_str()) {
            if dyno.is_some() {
                out.extend_from_slice(b"],");
            }
            text(&mut out, &row.dyno);
            out.extend_from_slice(b":[");
            dyno = Some(&row.dyno);
        } else {
            out.push(b',');
        }
        out.push(b'{');
        let values = row.values.all();
        for &i in &order {
            if let Some(v) = values[i] {
                text(&mut out, METRIC_KEYS[i]);
                out.push(b':');
                let _ = serde_json::to_writer(&mut out, &v);
                out.push(b',');
            }
        }
        out.extend_from_slice(b"\"ts\":");
        text(&mut out, &rfc3339(&row.ts));
        out.push(b'}');
    }
    if dyno.is_some() {
        out.push(b']');
    }
    out.extend_from_slice(b"},\"since\":");
    text(&mut out, &rfc3339(&micros_to_utc(range.since_us)));
    out.extend_from_slice(b",\"until\":");
    text(&mut out, &rfc3339(&micros_to_utc(range.until_us)));
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::types::Json;

    #[test]
    fn text_is_what_heroku_logs_prints() {
        let row = LineRow {
            id: 1,
            ts: DateTime::from_timestamp_micros(1_793_527_200_118_264).unwrap_or_default(),
            received_at: DateTime::from_timestamp_micros(0).unwrap_or_default(),
            source: "heroku".into(),
            dyno: "router".into(),
            kind: "router".into(),
            level: 6,
            message: "at=info method=GET path=\"/\"".into(),
            fields: Json(json!({})),
            tags: None,
            continued: false,
            trace_id: None,
            span_id: None,
        };
        let mut out = Vec::new();
        push_text(&mut out, &row);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "2026-11-01T10:00:00.118264+00:00 heroku[router]: at=info method=GET path=\"/\"\n"
        );
        let v = line_json(&row, "shop");
        assert_eq!(v["ts"], "2026-11-01T10:00:00.118264Z");
        assert_eq!(v["level"], "info");
        assert_eq!(v["id"], "1");

        let mut head = row.clone();
        head.continued = true;
        head.message = "first half ".into();
        let mut tail = row.clone();
        tail.id = 2;
        tail.message = "second half".into();
        let mut other = row.clone();
        other.id = 3;
        other.dyno = "web.2".into();
        let joined = join_continued(vec![head, other, tail]);
        assert_eq!(joined.len(), 2);
        assert_eq!(joined[0].message, "first half second half");
        assert!(!joined[0].continued);
        assert_eq!(joined[1].dyno, "web.2");
    }

    #[test]
    fn metrics_json_writes_what_the_json_map_wrote() {
        use crate::store::read::MetricValues;
        let row = |dyno: &str, secs: i64, rss: Option<f64>, load: Option<f64>| MetricsRow {
            dyno: dyno.into(),
            ts: DateTime::from_timestamp(secs, 0).unwrap_or_default(),
            values: MetricValues {
                memory_total: Some(512.25),
                memory_rss: rss,
                memory_swap: None,
                memory_cache: Some(0.1 + 0.2),
                memory_quota: Some(512.0),
                memory_pgpgin: Some(1e21),
                memory_pgpgout: Some(3.0),
                load_avg_1m: load,
                load_avg_5m: None,
                load_avg_15m: Some(0.0),
            },
        };
        let rows = vec![
            row("run.1 \"x\"", 1_700_000_000, None, Some(1.5)),
            row("web.1", 1_700_000_000, Some(100.5), None),
            row("web.1", 1_700_000_060, Some(1e-7), Some(2.0)),
        ];
        let range = TimeRange {
            since_us: 1_699_999_000_000_000,
            until_us: 1_700_001_000_123_456,
        };
        // The map the handler used to build.
        let mut dynos = serde_json::Map::new();
        for r in &rows {
            let mut point = serde_json::Map::new();
            point.insert("ts".into(), Value::from(rfc3339(&r.ts)));
            for (k, v) in r.values.present() {
                point.insert(k.into(), Value::from(v));
            }
            if let Value::Array(series) = dynos
                .entry(r.dyno.clone())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                series.push(Value::Object(point));
            }
        }
        let want = json!({
            "bucket": "60s",
            "dynos": dynos,
            "since": rfc3339(&micros_to_utc(range.since_us)),
            "until": rfc3339(&micros_to_utc(range.until_us)),
        });
        let got = metrics_json(&rows, "60s", range);
        assert_eq!(String::from_utf8_lossy(&got), want.to_string());
        let empty = metrics_json(&[], "1h", range);
        let want_empty = json!({"bucket": "1h", "dynos": {},
            "since": rfc3339(&micros_to_utc(range.since_us)),
            "until": rfc3339(&micros_to_utc(range.until_us))});
        assert_eq!(String::from_utf8_lossy(&empty), want_empty.to_string());
    }
}
