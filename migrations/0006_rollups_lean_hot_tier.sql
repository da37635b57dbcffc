-- Per-minute rollups written at ingest, so /stats/requests, /stats/errors and /metrics over
-- weeks read a few thousand small rows instead of millions of lines; and a lean set of indexes
-- on `lines`, so every stored line pays for fewer B-trees.
--
-- How the rollups stay exact (docs/rollups.md has the whole argument):
-- * The batch writer adds one row per (app, bucket, dimension, key) and batch in the same
--   transaction as the batch's lines and its frame-ledger entry: a retried frame is answered
--   from the ledger and adds nothing twice, a rolled-back batch adds nothing at all.
-- * Service times are kept at full resolution: a histogram of whole milliseconds (the unit of
--   the stored `service_ms`), so percentiles read from rollups are computed from the very same
--   (value, count) pairs the line query groups, and come out identical.
-- * Rows exist at five spans (a minute, an hour, 6 hours, a UTC day, 4 days), each line
--   counted once at each span. A read splits its range into the coarsest whole buckets, then
--   finer ones towards its ends, down to whole minutes and the sub-minute edges, and reads each
--   piece at its span (the edges from `lines`), in one statement and one snapshot.
-- * Maintenance merges the rows of a bucket into one (the sums do not change), so a day
--   costs one row per key whatever the number of batches.
-- * Rollups of a dropped partition are deleted with it, in the same transaction, and the hour
--   and day rows that straddle its bounds are rebuilt from the minute rows that remain:
--   statistics never count lines that are gone, and their size is bounded by retention.

-- Router lines (kind = 'router') aggregated by one grouping of /stats/requests.
CREATE TABLE request_rollups (
    -- The app (apps.id); its rollups go when it does.
    app_id    bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    -- Width of the bucket in seconds: a minute, an hour, 6 hours, a day or 4 days. Buckets
    -- start on multiples of their width since the Unix epoch (so days are UTC days).
    span_secs integer NOT NULL CHECK (span_secs IN (60, 3600, 21600, 86400, 345600)),
    -- Start of the bucket.
    bucket    timestamptz NOT NULL,
    -- The grouping: 'all' (no key: by=minute and by=hour), 'route' (by=path), 'status',
    -- 'dyno' (the router's dyno=), 'method', 'host'.
    dim       text NOT NULL CHECK (dim IN ('all', 'route', 'status', 'dyno', 'method', 'host')),
    -- The group key as /stats/requests shows it (status as text); NULL when the line had none.
    key       text,
    -- Router lines.
    count     bigint NOT NULL,
    -- Router lines with status >= 500.
    errors    bigint NOT NULL,
    -- Sum of the `bytes` of those lines (absent counts 0).
    bytes     bigint NOT NULL,
    -- Histogram of service_ms: the distinct values in ascending order, a final NULL element
    -- for the lines without one ...
    ms        integer[] NOT NULL,
    -- ... and how many lines had each value (same length as ms).
    ms_count  bigint[] NOT NULL,
    -- False for a row added by one batch, true once maintenance has merged its bucket.
    merged    boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE request_rollups IS 'Router lines per app, bucket (minute/hour/day) and /stats/requests grouping, with exact service-time histograms';
COMMENT ON COLUMN request_rollups.ms IS 'Distinct service_ms values ascending (NULL last: lines without one); counts in ms_count';
-- Reads: one app, one dimension, a few bucket ranges per span.
CREATE INDEX request_rollups_read ON request_rollups (app_id, dim, span_secs, bucket);
-- Maintenance finds the buckets it has to merge without reading the merged ones.
CREATE INDEX request_rollups_unmerged ON request_rollups (app_id, span_secs, bucket, dim) WHERE NOT merged;

-- Lines with a Heroku error code (H, R, L), for /stats/errors.
CREATE TABLE code_rollups (
    app_id     bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    -- As in request_rollups.
    span_secs  integer NOT NULL CHECK (span_secs IN (60, 3600, 21600, 86400, 345600)),
    bucket     timestamptz NOT NULL,
    -- H12, R14, L10, …
    code       text NOT NULL,
    -- The line's `desc` field (fields->>'desc'); one row per distinct value, NULL when absent.
    "desc"     text,
    -- Lines, and the oldest and newest of their timestamps.
    count      bigint NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    -- As in request_rollups.
    merged     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE code_rollups IS 'Lines with an H/R/L code per app, bucket, code and desc, for /stats/errors';
CREATE INDEX code_rollups_read ON code_rollups (app_id, span_secs, bucket);
CREATE INDEX code_rollups_unmerged ON code_rollups (app_id, span_secs, bucket) WHERE NOT merged;

-- Runtime-metric samples (kind = 'runtime_metric') per dyno, for /metrics.
CREATE TABLE metric_rollups (
    app_id    bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    -- As in request_rollups.
    span_secs integer NOT NULL CHECK (span_secs IN (60, 3600, 21600, 86400, 345600)),
    bucket    timestamptz NOT NULL,
    -- The line's dyno (PROCID), compared byte-wise like lines.dyno.
    dyno      text COLLATE "C" NOT NULL,
    -- Per sample, in the order memory_total, memory_rss, memory_swap, memory_cache,
    -- memory_quota, memory_pgpgin, memory_pgpgout, load_avg_1m, load_avg_5m, load_avg_15m:
    -- how many lines had it as a JSON number ...
    samples   bigint[] NOT NULL,
    -- ... and the exact sum of those numbers (numeric: sums merge in any order unchanged).
    sums      numeric[] NOT NULL,
    -- As in request_rollups.
    merged    boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE metric_rollups IS 'Runtime-metric sample counts and exact sums per app, bucket and dyno, for /metrics';
CREATE INDEX metric_rollups_read ON metric_rollups (app_id, span_secs, bucket);
CREATE INDEX metric_rollups_unmerged ON metric_rollups (app_id, span_secs, bucket) WHERE NOT merged;

-- Rollups of the lines already stored in [from_ts, to_ts), merged, at every span. The
-- migration runs it once over everything; it computes in SQL what the batch writer computes
-- in Rust (src/store/rollup.rs), and a test checks that both agree row for row. Call it only
-- for a range that has no rollups yet (or delete them first): it adds, it does not replace.
-- Lines are read once, into minute rows; each coarser width is summed from the one before.
CREATE FUNCTION logdrain_rollup_lines(from_ts timestamptz, to_ts timestamptz) RETURNS void
LANGUAGE sql SET work_mem = '256MB' AS $$
    INSERT INTO request_rollups (app_id, span_secs, bucket, dim, key, count, errors, bytes,
                                 ms, ms_count, merged)
    WITH keyed AS (
        SELECT l.app_id,
               date_bin(interval '60 seconds', l.ts, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               d.dim, d.key, l.service_ms, l.bytes, l.status
        FROM lines l
        CROSS JOIN LATERAL (VALUES ('all', NULL::text), ('route', l.route COLLATE "default"),
                                   ('status', l.status::text), ('dyno', l.router_dyno),
                                   ('method', l.method), ('host', l.host)) AS d(dim, key)
        WHERE l.kind = 'router' AND l.ts >= from_ts AND l.ts < to_ts
    ), h AS (
        SELECT app_id, bucket, dim, key, service_ms AS ms, count(*) AS c,
               count(*) FILTER (WHERE status >= 500) AS e, COALESCE(sum(bytes), 0) AS b
        FROM keyed GROUP BY 1, 2, 3, 4, 5
    )
    SELECT app_id, 60, bucket, dim, key, sum(c)::int8, sum(e)::int8, sum(b)::int8,
           array_agg(ms ORDER BY ms), array_agg(c ORDER BY ms), true
    FROM h GROUP BY 1, 2, 3, 4, 5;

    INSERT INTO request_rollups (app_id, span_secs, bucket, dim, key, count, errors, bytes,
                                 ms, ms_count, merged)
    SELECT app_id, 3600, bucket, dim, key, sum(n)::int8, sum(e)::int8, sum(b)::int8,
           array_agg(ms ORDER BY ms), array_agg(c ORDER BY ms), true
    FROM (
        SELECT r.app_id,
               date_bin(interval '3600 seconds', r.bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               r.dim, r.key, x.ms, sum(x.c)::int8 AS c,
               sum(CASE WHEN x.i = 1 THEN r.count ELSE 0 END) AS n,
               sum(CASE WHEN x.i = 1 THEN r.errors ELSE 0 END) AS e,
               sum(CASE WHEN x.i = 1 THEN r.bytes ELSE 0 END) AS b
        FROM request_rollups r
        CROSS JOIN LATERAL unnest(r.ms, r.ms_count) WITH ORDINALITY AS x(ms, c, i)
        WHERE r.span_secs = 60 AND r.bucket > from_ts - interval '3600 seconds' AND r.bucket < to_ts
        GROUP BY 1, 2, 3, 4, 5
    ) h GROUP BY app_id, bucket, dim, key;

    INSERT INTO request_rollups (app_id, span_secs, bucket, dim, key, count, errors, bytes,
                                 ms, ms_count, merged)
    SELECT app_id, 21600, bucket, dim, key, sum(n)::int8, sum(e)::int8, sum(b)::int8,
           array_agg(ms ORDER BY ms), array_agg(c ORDER BY ms), true
    FROM (
        SELECT r.app_id,
               date_bin(interval '21600 seconds', r.bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               r.dim, r.key, x.ms, sum(x.c)::int8 AS c,
               sum(CASE WHEN x.i = 1 THEN r.count ELSE 0 END) AS n,
               sum(CASE WHEN x.i = 1 THEN r.errors ELSE 0 END) AS e,
               sum(CASE WHEN x.i = 1 THEN r.bytes ELSE 0 END) AS b
        FROM request_rollups r
        CROSS JOIN LATERAL unnest(r.ms, r.ms_count) WITH ORDINALITY AS x(ms, c, i)
        WHERE r.span_secs = 3600 AND r.bucket > from_ts - interval '21600 seconds' AND r.bucket < to_ts
        GROUP BY 1, 2, 3, 4, 5
    ) h GROUP BY app_id, bucket, dim, key;

    INSERT INTO request_rollups (app_id, span_secs, bucket, dim, key, count, errors, bytes,
                                 ms, ms_count, merged)
    SELECT app_id, 86400, bucket, dim, key, sum(n)::int8, sum(e)::int8, sum(b)::int8,
           array_agg(ms ORDER BY ms), array_agg(c ORDER BY ms), true
    FROM (
        SELECT r.app_id,
               date_bin(interval '86400 seconds', r.bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               r.dim, r.key, x.ms, sum(x.c)::int8 AS c,
               sum(CASE WHEN x.i = 1 THEN r.count ELSE 0 END) AS n,
               sum(CASE WHEN x.i = 1 THEN r.errors ELSE 0 END) AS e,
               sum(CASE WHEN x.i = 1 THEN r.bytes ELSE 0 END) AS b
        FROM request_rollups r
        CROSS JOIN LATERAL unnest(r.ms, r.ms_count) WITH ORDINALITY AS x(ms, c, i)
        WHERE r.span_secs = 21600 AND r.bucket > from_ts - interval '86400 seconds' AND r.bucket < to_ts
        GROUP BY 1, 2, 3, 4, 5
    ) h GROUP BY app_id, bucket, dim, key;

    INSERT INTO request_rollups (app_id, span_secs, bucket, dim, key, count, errors, bytes,
                                 ms, ms_count, merged)
    SELECT app_id, 345600, bucket, dim, key, sum(n)::int8, sum(e)::int8, sum(b)::int8,
           array_agg(ms ORDER BY ms), array_agg(c ORDER BY ms), true
    FROM (
        SELECT r.app_id,
               date_bin(interval '345600 seconds', r.bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               r.dim, r.key, x.ms, sum(x.c)::int8 AS c,
               sum(CASE WHEN x.i = 1 THEN r.count ELSE 0 END) AS n,
               sum(CASE WHEN x.i = 1 THEN r.errors ELSE 0 END) AS e,
               sum(CASE WHEN x.i = 1 THEN r.bytes ELSE 0 END) AS b
        FROM request_rollups r
        CROSS JOIN LATERAL unnest(r.ms, r.ms_count) WITH ORDINALITY AS x(ms, c, i)
        WHERE r.span_secs = 86400 AND r.bucket > from_ts - interval '345600 seconds' AND r.bucket < to_ts
        GROUP BY 1, 2, 3, 4, 5
    ) h GROUP BY app_id, bucket, dim, key;

    INSERT INTO code_rollups (app_id, span_secs, bucket, code, "desc", count, first_seen,
                              last_seen, merged)
    SELECT l.app_id, s.secs,
           date_bin(make_interval(secs => s.secs), l.ts, TIMESTAMPTZ '1970-01-01 00:00:00+00'),
           l.code, l.fields->>'desc', count(*), min(l.ts), max(l.ts), true
    FROM lines l CROSS JOIN (VALUES (60), (3600), (21600), (86400), (345600)) AS s(secs)
    WHERE l.code IS NOT NULL AND l.ts >= from_ts AND l.ts < to_ts
    GROUP BY 1, 2, 3, 4, 5;

    INSERT INTO metric_rollups (app_id, span_secs, bucket, dyno, samples, sums, merged)
    WITH v AS (
        SELECT l.app_id,
               date_bin(interval '60 seconds', l.ts, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               l.dyno, k.i,
               CASE WHEN jsonb_typeof(l.fields -> k.name) = 'number'
                    THEN (l.fields ->> k.name)::numeric END AS x
        FROM lines l
        CROSS JOIN unnest(ARRAY['memory_total', 'memory_rss', 'memory_swap', 'memory_cache',
                                'memory_quota', 'memory_pgpgin', 'memory_pgpgout',
                                'load_avg_1m', 'load_avg_5m', 'load_avg_15m'])
                   WITH ORDINALITY AS k(name, i)
        WHERE l.kind = 'runtime_metric' AND l.ts >= from_ts AND l.ts < to_ts
    ), per AS (
        SELECT app_id, bucket, dyno, i, count(x) AS n, COALESCE(sum(x), 0) AS total
        FROM v GROUP BY 1, 2, 3, 4
    )
    SELECT app_id, 60, bucket, dyno, array_agg(n ORDER BY i), array_agg(total ORDER BY i), true
    FROM per GROUP BY 1, 2, 3, 4;

    INSERT INTO metric_rollups (app_id, span_secs, bucket, dyno, samples, sums, merged)
    SELECT app_id, 3600, bucket, dyno, array_agg(n ORDER BY i), array_agg(total ORDER BY i), true
    FROM (
        SELECT r.app_id,
               date_bin(interval '3600 seconds', r.bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               r.dyno, x.i, sum(x.n)::int8 AS n, sum(x.total) AS total
        FROM metric_rollups r
        CROSS JOIN LATERAL unnest(r.samples, r.sums) WITH ORDINALITY AS x(n, total, i)
        WHERE r.span_secs = 60 AND r.bucket > from_ts - interval '3600 seconds' AND r.bucket < to_ts
        GROUP BY 1, 2, 3, 4
    ) h GROUP BY app_id, bucket, dyno;

    INSERT INTO metric_rollups (app_id, span_secs, bucket, dyno, samples, sums, merged)
    SELECT app_id, 21600, bucket, dyno, array_agg(n ORDER BY i), array_agg(total ORDER BY i), true
    FROM (
        SELECT r.app_id,
               date_bin(interval '21600 seconds', r.bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               r.dyno, x.i, sum(x.n)::int8 AS n, sum(x.total) AS total
        FROM metric_rollups r
        CROSS JOIN LATERAL unnest(r.samples, r.sums) WITH ORDINALITY AS x(n, total, i)
        WHERE r.span_secs = 3600 AND r.bucket > from_ts - interval '21600 seconds' AND r.bucket < to_ts
        GROUP BY 1, 2, 3, 4
    ) h GROUP BY app_id, bucket, dyno;

    INSERT INTO metric_rollups (app_id, span_secs, bucket, dyno, samples, sums, merged)
    SELECT app_id, 86400, bucket, dyno, array_agg(n ORDER BY i), array_agg(total ORDER BY i), true
    FROM (
        SELECT r.app_id,
               date_bin(interval '86400 seconds', r.bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               r.dyno, x.i, sum(x.n)::int8 AS n, sum(x.total) AS total
        FROM metric_rollups r
        CROSS JOIN LATERAL unnest(r.samples, r.sums) WITH ORDINALITY AS x(n, total, i)
        WHERE r.span_secs = 21600 AND r.bucket > from_ts - interval '86400 seconds' AND r.bucket < to_ts
        GROUP BY 1, 2, 3, 4
    ) h GROUP BY app_id, bucket, dyno;

    INSERT INTO metric_rollups (app_id, span_secs, bucket, dyno, samples, sums, merged)
    SELECT app_id, 345600, bucket, dyno, array_agg(n ORDER BY i), array_agg(total ORDER BY i), true
    FROM (
        SELECT r.app_id,
               date_bin(interval '345600 seconds', r.bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               r.dyno, x.i, sum(x.n)::int8 AS n, sum(x.total) AS total
        FROM metric_rollups r
        CROSS JOIN LATERAL unnest(r.samples, r.sums) WITH ORDINALITY AS x(n, total, i)
        WHERE r.span_secs = 86400 AND r.bucket > from_ts - interval '345600 seconds' AND r.bucket < to_ts
        GROUP BY 1, 2, 3, 4
    ) h GROUP BY app_id, bucket, dyno;
$$;
COMMENT ON FUNCTION logdrain_rollup_lines(timestamptz, timestamptz) IS 'Adds merged rollups of the lines in [from_ts, to_ts) (backfill)';

SELECT logdrain_rollup_lines('-infinity', 'infinity');

-- The lean hot tier. Every index below is maintained for every stored line (or, for the
-- partial ones, for the few lines they keep), so each one must answer a query that would
-- otherwise scan. What serves what, after this migration:
--
--   lines_app_ts          (app_id, ts DESC, id DESC)   `heroku logs`: the latest n lines, cursors
--                         (ts, id) < (…), every time range; the sub-minute edges of the stats
--                         reads; and every filter below without its own index, walked newest
--                         first (dyno=, type=, source=, kind=router/app, q= on the hot partition)
--   lines_id              (id)                        tails: id > last printed, and max(id)
--   lines_app_request_id  (app_id, request_id) partial /requests/{id} and request_id=
--   lines_app_code_ts     (app_id, code, ts) partial   code=H12 (error lines are few)
--   lines_app_status_ts   (app_id, status, ts) partial status=5xx, 400-499 (HTTP errors are few)
--   lines_app_level_ts    (app_id, level, ts, id) partial level=warning and worse
--   lines_app_rare_kind_ts (app_id, kind, ts, id) partial kind=api,system (/events),
--                         runtime_metric, addon: the kinds that are a small share of lines
--
-- Dropped:
--   lines_router_stats    the covering index of /stats/requests: the rollups answer it now
--   lines_app_kind_ts     kind=router and kind=app are half the lines each, so walking
--                         lines_app_ts finds a page of them as fast; the rare kinds keep an
--                         index (lines_app_rare_kind_ts)
--   lines_app_dyno_ts     a dyno's lines are a large share of an app's lines (a web dyno, the
--                         router): a page of them is found walking lines_app_ts
--
-- The trigram search index of sealed partitions is unchanged (built by maintenance, 0003).
DROP INDEX lines_router_stats;
DROP INDEX lines_app_kind_ts;
DROP INDEX lines_app_dyno_ts;
CREATE INDEX lines_app_rare_kind_ts ON lines (app_id, kind, ts DESC, id DESC)
    WHERE kind IN ('api', 'system', 'runtime_metric', 'addon');
