-- The compact tier: sealed days rewritten as chunks of up to 1,000 lines of one app, one row
-- per chunk, every line column kept as an array (element i of every array is line i of the
-- chunk; a chunk holds consecutive lines in (ts, id) order, stored grouped by kind and dyno).
-- Postgres TOAST compresses each array as one value, so the text of a
-- thousand similar lines costs a fraction of a thousand rows; a small summary per chunk lets
-- reads skip the chunks that cannot match.
--
-- How a partition becomes compact (src/store/compact.rs): in ONE transaction, maintenance locks
-- the row partition against writes (SHARE), builds a standalone `chunks_…` table from it, fills
-- in the search filters, then locks `lines` (the order every partition DDL takes), attaches the
-- table to `line_chunks`, drops the row partition and stamps `line_partitions.compacted_at`.
-- Until that commit readers see the rows; after it they see the chunks; a kill or a restart at
-- any moment rolls the whole step back. Ids are kept, so cursors stay exact across the tiers.
--
-- Reads (src/store/read/ and the functions below) take the union of `lines` (hot partitions and
-- the default partition) and the unnested chunks, so every answer is the same on both tiers.

ALTER TABLE line_partitions
    -- When the partition was rewritten into `chunks_…` (NULL: still rows). A compacted
    -- partition's record stays, so its time slot is not created again and retention still
    -- drops it (its chunk table) by age and size.
    ADD COLUMN compacted_at timestamptz,
    -- Lines it held when compacted.
    ADD COLUMN compacted_lines bigint;

CREATE TABLE line_chunks (
    -- The app (apps.id) of every line of the chunk.
    app_id          bigint NOT NULL,
    -- Pruning summary: the chunk's time and id ranges, and what its lines contain.
    min_ts          timestamptz NOT NULL,
    max_ts          timestamptz NOT NULL,
    min_id          bigint NOT NULL,
    max_id          bigint NOT NULL,
    -- Lines in the chunk (the length of every array below).
    n               integer NOT NULL,
    -- Newest received_at: a tail looking for recently received lines skips older chunks.
    max_received_at timestamptz NOT NULL,
    -- Distinct kinds, sources, dynos, codes and statuses, and the most severe level (lowest
    -- number) of the chunk's lines.
    kinds           text[] NOT NULL,
    sources         text[] NOT NULL,
    dynos           text[] COLLATE "C" NOT NULL,
    codes           text[] NOT NULL,
    statuses        smallint[] NOT NULL,
    min_level       smallint NOT NULL,
    -- Bloom filter of the case-folded 4-grams of the messages (q= search), and one of the
    -- request ids (request_id= and /requests/{id}); bit layout in src/store/compact/bloom.rs.
    -- NULL while being built (never visible to readers).
    terms_bloom     bytea,
    rids_bloom      bytea,
    -- The lines: the columns of `lines` (see 0001–0003 for each one's meaning) as arrays.
    id              bigint[] NOT NULL,
    ts              timestamptz[] NOT NULL,
    received_at     timestamptz[] NOT NULL,
    pri             smallint[] NOT NULL,
    source          text[] NOT NULL,
    dyno            text[] COLLATE "C" NOT NULL,
    kind            text[] NOT NULL,
    level           smallint[] NOT NULL,
    message         text[] NOT NULL,
    -- `raw` only where it differs from line_raw(pri, ts, source, dyno, message) (the header
    -- rebuilt from the columns, MSG, LF); NULL elements are rebuilt on read.
    raw             bytea[] NOT NULL,
    tags            jsonb[] NOT NULL,
    fields          jsonb[] NOT NULL,
    frame_id        text[] NOT NULL,
    status          smallint[] NOT NULL,
    service_ms      integer[] NOT NULL,
    connect_ms      integer[] NOT NULL,
    bytes           bigint[] NOT NULL,
    method          text[] NOT NULL,
    path            text[] COLLATE "C" NOT NULL,
    host            text[] NOT NULL,
    route           text[] COLLATE "C" NOT NULL,
    router_dyno     text[] NOT NULL,
    -- request_id and path are stored only where they are not a substring of the message;
    -- where they are, *_at and *_len say where (character position and length), and
    -- substr(message, *_at, *_len) rebuilds them. A router line's request id and path, and
    -- most app lines' request ids, cost a few bytes instead of a second copy.
    request_id      text[] NOT NULL,
    request_id_at   integer[] NOT NULL,
    request_id_len  integer[] NOT NULL,
    path_at         integer[] NOT NULL,
    path_len        integer[] NOT NULL,
    code            text[] NOT NULL,
    parts           smallint[] NOT NULL,
    continued       boolean[] NOT NULL,
    -- OpenTelemetry trace and span ids of lines received over OTLP (columns of `lines` added
    -- by a later migration).
    trace_id        text[] NOT NULL DEFAULT '{}',
    span_id         text[] NOT NULL DEFAULT '{}'
) PARTITION BY RANGE (min_ts);
COMMENT ON TABLE line_chunks IS 'Compacted lines: chunks of up to 1,000 lines of one app as column arrays, one partition per compacted line partition';

-- Newest-first reads walk an app's chunks by time; the same index finds the chunks of a range.
CREATE INDEX line_chunks_app_ts ON line_chunks (app_id, max_ts DESC, max_id DESC);

-- lz4 compresses these arrays about as small as pglz and several times faster; a server built
-- without lz4 keeps its default (pglz).
DO $$
DECLARE
    col text;
BEGIN
    FOREACH col IN ARRAY ARRAY['id', 'ts', 'received_at', 'source', 'dyno', 'kind', 'level',
        'message', 'raw', 'tags', 'fields', 'frame_id', 'status', 'service_ms', 'connect_ms',
        'bytes', 'method', 'path', 'host', 'route', 'router_dyno', 'request_id', 'code',
        'request_id_at', 'request_id_len', 'path_at', 'path_len']
    LOOP
        EXECUTE format('ALTER TABLE line_chunks ALTER COLUMN %I SET COMPRESSION lz4', col);
    END LOOP;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 not supported by this server: chunks compressed with pglz';
END $$;

-- The bytes of a line as received, rebuilt from its columns: the syslog header Heroku writes
-- (`<PRI>1 TIMESTAMP host APP-NAME PROCID - `), MSG and LF. NULL for a line without PRI.
CREATE FUNCTION line_raw(pri smallint, ts timestamptz, source text, dyno text, message text)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT convert_to('<' || pri || '>1 '
        || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00 host '
        || source || ' ' || dyno || ' - ' || message || E'\n', 'UTF8')
$$;
COMMENT ON FUNCTION line_raw IS 'The received bytes of a line rebuilt from its columns (compact tier stores raw only where this differs)';

-- Every line of both tiers with the columns of `lines` (raw rebuilt where it was not stored),
-- for psql. Filters on it apply after unnesting: prefer lines_between() for an app's time range.
CREATE VIEW all_lines AS
SELECT id, app_id, ts, received_at, pri, source, dyno, kind, level, message, raw, tags, fields,
       frame_id, status, service_ms, connect_ms, bytes, method, path, host, route, router_dyno,
       request_id, code, parts, continued
FROM lines
UNION ALL
SELECT u.id, c.app_id, u.ts, u.received_at, u.pri, u.source, u.dyno, u.kind, u.level, u.message,
       COALESCE(u.raw, line_raw(u.pri, u.ts, u.source, u.dyno, u.message)), u.tags, u.fields,
       u.frame_id, u.status, u.service_ms, u.connect_ms, u.bytes, u.method,
       COALESCE(u.path, substr(u.message, u.path_at, u.path_len) COLLATE "C"), u.host,
       u.route, u.router_dyno,
       COALESCE(u.request_id, substr(u.message, u.request_id_at, u.request_id_len)), u.code,
       u.parts, u.continued
FROM line_chunks c
CROSS JOIN LATERAL unnest(c.id, c.ts, c.received_at, c.pri, c.source, c.dyno, c.kind, c.level,
       c.message, c.raw, c.tags, c.fields, c.frame_id, c.status, c.service_ms, c.connect_ms,
       c.bytes, c.method, c.path, c.host, c.route, c.router_dyno, c.request_id, c.code,
       c.parts, c.continued, c.request_id_at, c.request_id_len, c.path_at, c.path_len)
    AS u(id, ts, received_at, pri, source, dyno, kind, level, message, raw, tags, fields,
         frame_id, status, service_ms, connect_ms, bytes, method, path, host, route, router_dyno,
         request_id, code, parts, continued, request_id_at, request_id_len, path_at, path_len);
COMMENT ON VIEW all_lines IS 'Every line of both tiers (row partitions and compacted chunks) with the columns of lines';

-- One app's lines with since <= ts < until from both tiers, only the chunks of that range
-- unnested: `SELECT * FROM lines_between('acme-shop', now() - interval '7 days', now())`.
CREATE FUNCTION lines_between(app text, since timestamptz, until timestamptz)
RETURNS SETOF all_lines LANGUAGE sql STABLE AS $$
    SELECT l.id, l.app_id, l.ts, l.received_at, l.pri, l.source, l.dyno, l.kind, l.level,
           l.message, l.raw, l.tags, l.fields, l.frame_id, l.status, l.service_ms, l.connect_ms,
           l.bytes, l.method, l.path, l.host, l.route, l.router_dyno, l.request_id, l.code,
           l.parts, l.continued
    FROM lines l
    WHERE l.app_id = (SELECT id FROM apps WHERE name = app) AND l.ts >= since AND l.ts < until
    UNION ALL
    SELECT u.id, c.app_id, u.ts, u.received_at, u.pri, u.source, u.dyno, u.kind, u.level,
           u.message, COALESCE(u.raw, line_raw(u.pri, u.ts, u.source, u.dyno, u.message)),
           u.tags, u.fields, u.frame_id, u.status, u.service_ms, u.connect_ms, u.bytes, u.method,
           COALESCE(u.path, substr(u.message, u.path_at, u.path_len) COLLATE "C"), u.host,
           u.route, u.router_dyno,
           COALESCE(u.request_id, substr(u.message, u.request_id_at, u.request_id_len)), u.code,
           u.parts, u.continued
    FROM line_chunks c
    CROSS JOIN LATERAL unnest(c.id, c.ts, c.received_at, c.pri, c.source, c.dyno, c.kind,
           c.level, c.message, c.raw, c.tags, c.fields, c.frame_id, c.status, c.service_ms,
           c.connect_ms, c.bytes, c.method, c.path, c.host, c.route, c.router_dyno,
           c.request_id, c.code, c.parts, c.continued, c.request_id_at, c.request_id_len,
           c.path_at, c.path_len)
        AS u(id, ts, received_at, pri, source, dyno, kind, level, message, raw, tags, fields,
             frame_id, status, service_ms, connect_ms, bytes, method, path, host, route,
             router_dyno, request_id, code, parts, continued, request_id_at, request_id_len,
             path_at, path_len)
    WHERE c.app_id = (SELECT id FROM apps WHERE name = app)
      AND c.max_ts >= since AND c.min_ts < until AND u.ts >= since AND u.ts < until
$$;
COMMENT ON FUNCTION lines_between IS 'One app''s lines in a time range from both tiers, for psql';

-- lines_with_fields (0003) now reads both tiers.
CREATE OR REPLACE VIEW lines_with_fields AS
SELECT l.id, l.app_id, l.ts, l.received_at, l.source, l.dyno, l.kind,
       CASE l.level WHEN 2 THEN 'critical' WHEN 3 THEN 'error' WHEN 4 THEN 'warning'
                    WHEN 5 THEN 'notice' WHEN 6 THEN 'info' ELSE 'debug' END AS level,
       l.message,
       COALESCE(l.fields, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
           'status', l.status, 'service_ms', l.service_ms, 'connect_ms', l.connect_ms,
           'bytes', l.bytes, 'method', l.method, 'path', l.path, 'host', l.host,
           'dyno', l.router_dyno, 'request_id', l.request_id, 'code', l.code)) AS fields,
       l.tags, l.parts, l.continued, l.frame_id
FROM all_lines l;

-- Partitions the last maintenance run compacted.
ALTER TABLE maintenance_status ADD COLUMN compacted text[] NOT NULL DEFAULT '{}';
