-- `lines` becomes a table partitioned by time (RANGE on ts), so that retention drops whole
-- partitions (a file unlink, no dead tuples, no vacuum debt) instead of running bulk DELETEs,
-- and every query with a time range only opens the partitions it covers.
--
-- Who creates partitions: the server's maintenance task (src/store/partitions.rs), ahead of
-- time, at LOGDRAIN_PARTITION_INTERVAL (default one UTC day), under an advisory lock so that
-- one process of many does it. It records each partition in `line_partitions`.
--
-- Why a DEFAULT partition: a dyno with a wrong clock, or a backlog from days ago, must never
-- make a COPY fail (Logplex would retry the frame forever). Such lines land in `lines_default`;
-- maintenance moves them into a proper partition when it creates the one for their time, and
-- deletes those older than the retention period. It holds only strays and stays small.
--
-- Why no primary key: a unique index on a partitioned table must contain the partition key, so
-- `id` could only be unique together with `ts`. Ids still come from one sequence, so they are
-- unique in practice; reads order by (ts, id) and tails by id, both served by indexes below.
--
-- Why the full-text search index is not declared here: a trigram GIN index maintained on every
-- insert costs about ten times the ingest rate. Maintenance builds one per partition once the
-- partition is sealed (its time is past), with CREATE INDEX CONCURRENTLY, when the pg_trgm
-- extension is available; the hot partition is scanned through its (app_id, ts) index.

DROP VIEW lines_with_fields;

ALTER TABLE lines RENAME TO lines_unpartitioned;
ALTER TABLE lines_unpartitioned ALTER COLUMN id DROP IDENTITY;
ALTER INDEX lines_pkey RENAME TO lines_unpartitioned_pkey;
ALTER INDEX lines_app_ts RENAME TO lines_unpartitioned_app_ts;
ALTER INDEX lines_app_dyno_ts RENAME TO lines_unpartitioned_app_dyno_ts;
ALTER INDEX lines_app_kind_ts RENAME TO lines_unpartitioned_app_kind_ts;
ALTER INDEX lines_app_level_ts RENAME TO lines_unpartitioned_app_level_ts;
ALTER INDEX lines_app_request_id RENAME TO lines_unpartitioned_app_request_id;
ALTER INDEX lines_app_code_ts RENAME TO lines_unpartitioned_app_code_ts;
ALTER INDEX lines_router_stats RENAME TO lines_unpartitioned_router_stats;
ALTER INDEX lines_app_status_ts RENAME TO lines_unpartitioned_app_status_ts;

CREATE SEQUENCE lines_id_seq AS bigint;
SELECT setval('lines_id_seq', COALESCE((SELECT max(id) FROM lines_unpartitioned), 0) + 1, false);

-- Same columns, same meaning as before (0001, 0002); see the comments there.
CREATE TABLE lines (
    id          bigint NOT NULL DEFAULT nextval('lines_id_seq'),
    app_id      bigint NOT NULL,
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    pri         smallint,
    source      text NOT NULL,
    dyno        text COLLATE "C" NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('router', 'app', 'api', 'system', 'runtime_metric', 'addon')),
    level       smallint NOT NULL,
    message     text NOT NULL,
    raw         bytea NOT NULL,
    tags        jsonb,
    fields      jsonb,
    frame_id    text,
    status      smallint,
    service_ms  integer,
    connect_ms  integer,
    bytes       bigint,
    method      text,
    path        text COLLATE "C",
    host        text,
    route       text COLLATE "C",
    router_dyno text,
    request_id  text,
    code        text,
    parts       smallint,
    continued   boolean
) PARTITION BY RANGE (ts);
ALTER SEQUENCE lines_id_seq OWNED BY lines.id;
COMMENT ON TABLE lines IS 'Every stored log line, byte-exact in raw; partitioned by ts (see line_partitions)';
COMMENT ON COLUMN lines.fields IS 'Extracted fields that have no typed column (API fields = these + the typed columns)';

-- The indexes of 0002, declared once on the parent: every partition gets its own copy.
CREATE INDEX lines_app_ts ON lines (app_id, ts DESC, id DESC);
CREATE INDEX lines_app_dyno_ts ON lines (app_id, dyno, ts DESC, id DESC);
CREATE INDEX lines_app_kind_ts ON lines (app_id, kind, ts DESC, id DESC);
CREATE INDEX lines_app_level_ts ON lines (app_id, level, ts DESC, id DESC) WHERE level <= 4;
CREATE INDEX lines_app_request_id ON lines (app_id, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX lines_app_code_ts ON lines (app_id, code, ts DESC) WHERE code IS NOT NULL;
CREATE INDEX lines_router_stats ON lines (app_id, ts)
    INCLUDE (route, status, service_ms, bytes, router_dyno, method, host) WHERE kind = 'router';
CREATE INDEX lines_app_status_ts ON lines (app_id, status, ts DESC) WHERE status >= 400;
-- Tails read "ids above the last one printed"; ids grow, so this index only ever appends.
CREATE INDEX lines_id ON lines (id);

CREATE TABLE lines_default PARTITION OF lines DEFAULT;

-- One row per time partition, written in the same transaction as its CREATE/DROP.
CREATE TABLE line_partitions (
    -- The partition's table name, e.g. lines_p20261121 (UTC day) or lines_p20261121_06.
    name             text PRIMARY KEY,
    -- Its range of ts: from_ts <= ts < to_ts.
    from_ts          timestamptz NOT NULL,
    to_ts            timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- When its trigram search index was built (NULL: not yet, or pg_trgm unavailable).
    search_indexed_at timestamptz,
    CHECK (from_ts < to_ts)
);
COMMENT ON TABLE line_partitions IS 'Time partitions of lines, created ahead and dropped whole by the maintenance task';

-- What the last maintenance run did, for /readyz and psql (one row, whichever process ran it).
CREATE TABLE maintenance_status (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    ran_at      timestamptz NOT NULL,
    -- Database size after the run, bytes.
    db_bytes    bigint NOT NULL,
    -- Partitions created / dropped / search-indexed in that run, and why each drop happened.
    created     text[] NOT NULL DEFAULT '{}',
    dropped     text[] NOT NULL DEFAULT '{}',
    indexed     text[] NOT NULL DEFAULT '{}',
    -- Set when the size budget cannot be met by dropping old partitions (only the current
    -- partition is left).
    warning     text
);

-- Existing lines move into one partition per UTC day, the default interval.
DO $$
DECLARE
    day timestamptz;
    part text;
BEGIN
    FOR day IN
        SELECT DISTINCT date_trunc('day', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM lines_unpartitioned
    LOOP
        part := 'lines_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD');
        EXECUTE format('CREATE TABLE %I PARTITION OF lines FOR VALUES FROM (%L) TO (%L)',
                       part, day, day + interval '1 day');
        INSERT INTO line_partitions (name, from_ts, to_ts) VALUES (part, day, day + interval '1 day');
    END LOOP;
END $$;

INSERT INTO lines (id, app_id, ts, received_at, pri, source, dyno, kind, level, message, raw,
                   tags, fields, frame_id, status, service_ms, connect_ms, bytes, method, path,
                   host, route, router_dyno, request_id, code, parts, continued)
SELECT id, app_id, ts, received_at, pri, source, dyno, kind, level, message, raw,
       tags, fields, frame_id, status, service_ms, connect_ms, bytes, method, path,
       host, route, router_dyno, request_id, code, parts, continued
FROM lines_unpartitioned;

DROP TABLE lines_unpartitioned;

-- The frame ledger only has to outlive Logplex's retries; maintenance prunes it by age.
CREATE INDEX frames_received_at ON frames (received_at);

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
