-- Typed columns for what the query API filters and aggregates on, and the indexes behind its
-- filters.
--
-- Why typed columns beside `fields` jsonb: /stats/requests computes percentiles of service_ms
-- grouped by path, status, dyno, method or host over millions of router lines. Reading those
-- from jsonb means detoasting and parsing a document per row; a smallint/integer column is read
-- straight from the tuple and can be indexed. Router lines are about half of all traffic, so
-- their fields are stored only here, not a second time in `fields` (the API merges the two).
-- request_id and code are typed for every kind: router and app lines of one request are joined
-- on request_id, and H/R/L codes come from router, system and app lines alike.
--
-- Why still one table, with nullable columns, rather than one table per kind: retention drops
-- whole time ranges (the next step turns `lines` into time partitions on `ts`), and a single
-- partitioned table keeps "drop everything older than X" one statement per partition and keeps
-- `heroku logs`-style reads (all kinds, newest first) one index scan. NULL columns cost one bit
-- each in the row header, so app lines pay almost nothing for the router columns.
--
-- Index choices, each paid on every insert, so each one answers a filter of API.md §2.2 that
-- would otherwise scan: every index leads with app_id and ends with ts DESC so it also serves
-- "newest n" and time ranges. Rare classes (warnings and worse, error codes, HTTP errors) get
-- partial indexes that cost nothing for the ordinary lines they exclude. None of them is
-- unique and none references another table, so partitions can later be created and dropped
-- without touching other tables.

ALTER TABLE lines
    -- PROCID compared byte-wise, so `type=web` is the index range 'web.' ≤ dyno < 'web/'.
    ALTER COLUMN dyno TYPE text COLLATE "C",
    -- Router `status`.
    ADD COLUMN status      smallint,
    -- Router `service` in milliseconds.
    ADD COLUMN service_ms  integer,
    -- Router `connect` in milliseconds.
    ADD COLUMN connect_ms  integer,
    -- Router `bytes`.
    ADD COLUMN bytes       bigint,
    -- Router `method`.
    ADD COLUMN method      text,
    -- Router `path`, query string included, as logged.
    ADD COLUMN path        text COLLATE "C",
    -- Router `host`.
    ADD COLUMN host        text,
    -- Router `path` without its query string, id-like segments (numbers, UUIDs, long hex) as
    -- `:id`: computed once at ingest so /stats/requests?by=path groups without regexes.
    ADD COLUMN route       text COLLATE "C",
    -- Router `dyno`: the dyno that served the request (the line's own dyno is 'router').
    ADD COLUMN router_dyno text,
    -- The request id of router lines, and of app lines that log one (JSON/logfmt key or a
    -- Rails-style [uuid] tag).
    ADD COLUMN request_id  text,
    -- Heroku error code: H10…H99 (router), R10…R17 (dyno manager), L10/L12/L13 (loss).
    ADD COLUMN code        text,
    -- A line longer than 10,000 bytes arrives in chunks; the chunks that arrived in one request
    -- are stored as one row and `parts` counts them (NULL for an ordinary line).
    ADD COLUMN parts       smallint,
    -- True when the row ends with a chunk whose continuation came in a later request: the rest
    -- of the line is the next row of the same app, dyno and ts (the API joins them).
    ADD COLUMN continued   boolean;

COMMENT ON COLUMN lines.fields IS 'Extracted fields that have no typed column (API fields = these + the typed columns)';

-- `heroku logs --dyno web.1` and `type=web`.
CREATE INDEX lines_app_dyno_ts ON lines (app_id, dyno, ts DESC, id DESC);
-- kind=router (the stats endpoints), kind=api,system (/events).
CREATE INDEX lines_app_kind_ts ON lines (app_id, kind, ts DESC, id DESC);
-- level=warning and worse: a small share of lines.
CREATE INDEX lines_app_level_ts ON lines (app_id, level, ts DESC, id DESC) WHERE level <= 4;
-- /requests/{id} and request_id=: router lines and the app lines that log one.
CREATE INDEX lines_app_request_id ON lines (app_id, request_id) WHERE request_id IS NOT NULL;
-- code=H12 and /stats/errors.
CREATE INDEX lines_app_code_ts ON lines (app_id, code, ts DESC) WHERE code IS NOT NULL;
-- /stats/requests: an index-only scan of a day of router lines (measured on 10 M lines: 0.15 s
-- against 0.55 s through lines_app_kind_ts and the wide heap rows).
CREATE INDEX lines_router_stats ON lines (app_id, ts)
    INCLUDE (route, status, service_ms, bytes, router_dyno, method, host) WHERE kind = 'router';
-- Index-only scans need the visibility map: vacuum an insert-only table every ~100 k lines
-- rather than every 20% of its size.
ALTER TABLE lines SET (autovacuum_vacuum_insert_threshold = 100000,
                       autovacuum_vacuum_insert_scale_factor = 0.01);
-- status=5xx / 400-499: HTTP errors are few; status=200 is served by the kind index.
CREATE INDEX lines_app_status_ts ON lines (app_id, status, ts DESC) WHERE status >= 400;

-- For psql: every line with its `fields` as the API shows them (typed columns merged back in)
-- and its level by name.
CREATE VIEW lines_with_fields AS
SELECT l.id, l.app_id, l.ts, l.received_at, l.source, l.dyno, l.kind,
       CASE l.level WHEN 2 THEN 'critical' WHEN 3 THEN 'error' WHEN 4 THEN 'warning'
                    WHEN 5 THEN 'notice' WHEN 6 THEN 'info' ELSE 'debug' END AS level,
       l.message,
       COALESCE(l.fields, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
           'status', l.status, 'service_ms', l.service_ms, 'connect_ms', l.connect_ms,
           'bytes', l.bytes, 'method', l.method, 'path', l.path, 'host', l.host,
           'dyno', l.router_dyno, 'request_id', l.request_id, 'code', l.code)) AS fields,
       l.tags, l.parts, l.continued, l.frame_id
FROM lines l;
COMMENT ON VIEW lines_with_fields IS 'lines with API-shaped fields and level names, for psql';
