-- A hot row holds its text once: `lines.raw` is NULL where it is exactly what
-- line_raw(pri, ts, source, dyno, message) rebuilds (the header Logplex writes, MSG and LF),
-- as the compact tier has done since 0005. The writer decides in Rust
-- (`raw_is_rebuilt` in src/store/copy.rs, byte for byte the same text as line_raw) and sends
-- NULL; every other line (no PRI, another timestamp spelling, invalid UTF-8, NULs, colour
-- codes, redaction, OTLP) keeps its bytes. A Logplex line is about 70 bytes of header plus its
-- message, so this takes a third off a typical row, and off what each batch writes.
--
-- Rows stored before this migration keep their raw; compaction stores NULL for both kinds.
-- Every reader rebuilds a NULL raw: `all_lines` and `lines_between` below, and the line
-- context of the API (src/store/read/compact.rs). Read `raw` through them, not from `lines`.
ALTER TABLE lines ALTER COLUMN raw DROP NOT NULL;
COMMENT ON COLUMN lines.raw IS 'The bytes received; NULL where line_raw(pri, ts, source, dyno, message) rebuilds them exactly (read all_lines or lines_between for the bytes)';

CREATE OR REPLACE VIEW all_lines AS
SELECT id, app_id, ts, received_at, pri, source, dyno, kind, level, message,
       COALESCE(raw, line_raw(pri, ts, source, dyno, message)) AS raw, tags, fields, frame_id, status, service_ms, connect_ms, bytes, method, path, host, route, router_dyno,
       request_id, code, parts, continued, trace_id, span_id
FROM lines
UNION ALL
SELECT u.id, c.app_id, u.ts, u.received_at, u.pri, u.source, u.dyno, u.kind, u.level, u.message,
       COALESCE(u.raw, line_raw(u.pri, u.ts, u.source, u.dyno, u.message)), u.tags, u.fields,
       u.frame_id, u.status, u.service_ms, u.connect_ms, u.bytes, u.method,
       COALESCE(u.path, substr(u.message, u.path_at, u.path_len) COLLATE "C"), u.host,
       u.route, u.router_dyno,
       COALESCE(u.request_id, substr(u.message, u.request_id_at, u.request_id_len)), u.code,
       u.parts, u.continued, u.trace_id, u.span_id
FROM line_chunks c
CROSS JOIN LATERAL unnest(c.id, c.ts, c.received_at, c.pri, c.source, c.dyno, c.kind, c.level,
       c.message, c.raw, c.tags, c.fields, c.frame_id, c.status, c.service_ms, c.connect_ms,
       c.bytes, c.method, c.path, c.host, c.route, c.router_dyno, c.request_id, c.code,
       c.parts, c.continued, c.request_id_at, c.request_id_len, c.path_at, c.path_len,
       c.trace_id, c.span_id)
    AS u(id, ts, received_at, pri, source, dyno, kind, level, message, raw, tags, fields,
         frame_id, status, service_ms, connect_ms, bytes, method, path, host, route, router_dyno,
         request_id, code, parts, continued, request_id_at, request_id_len, path_at, path_len,
         trace_id, span_id);
COMMENT ON VIEW all_lines IS 'Every line of both tiers (row partitions and compacted chunks) with the columns of lines';

-- One app's lines with since <= ts < until from both tiers, only the chunks of that range
-- unnested.
CREATE OR REPLACE FUNCTION lines_between(app text, since timestamptz, until timestamptz)
RETURNS SETOF all_lines LANGUAGE sql STABLE AS $$
    SELECT l.id, l.app_id, l.ts, l.received_at, l.pri, l.source, l.dyno, l.kind, l.level,
           l.message, COALESCE(l.raw, line_raw(l.pri, l.ts, l.source, l.dyno, l.message)),
           l.tags, l.fields, l.frame_id, l.status, l.service_ms, l.connect_ms,
           l.bytes, l.method, l.path, l.host, l.route, l.router_dyno, l.request_id, l.code,
           l.parts, l.continued, l.trace_id, l.span_id
    FROM lines l
    WHERE l.app_id = (SELECT id FROM apps WHERE name = app) AND l.ts >= since AND l.ts < until
    UNION ALL
    SELECT u.id, c.app_id, u.ts, u.received_at, u.pri, u.source, u.dyno, u.kind, u.level,
           u.message, COALESCE(u.raw, line_raw(u.pri, u.ts, u.source, u.dyno, u.message)),
           u.tags, u.fields, u.frame_id, u.status, u.service_ms, u.connect_ms, u.bytes, u.method,
           COALESCE(u.path, substr(u.message, u.path_at, u.path_len) COLLATE "C"), u.host,
           u.route, u.router_dyno,
           COALESCE(u.request_id, substr(u.message, u.request_id_at, u.request_id_len)), u.code,
           u.parts, u.continued, u.trace_id, u.span_id
    FROM line_chunks c
    CROSS JOIN LATERAL unnest(c.id, c.ts, c.received_at, c.pri, c.source, c.dyno, c.kind,
           c.level, c.message, c.raw, c.tags, c.fields, c.frame_id, c.status, c.service_ms,
           c.connect_ms, c.bytes, c.method, c.path, c.host, c.route, c.router_dyno,
           c.request_id, c.code, c.parts, c.continued, c.request_id_at, c.request_id_len,
           c.path_at, c.path_len, c.trace_id, c.span_id)
        AS u(id, ts, received_at, pri, source, dyno, kind, level, message, raw, tags, fields,
             frame_id, status, service_ms, connect_ms, bytes, method, path, host, route,
             router_dyno, request_id, code, parts, continued, request_id_at, request_id_len,
             path_at, path_len, trace_id, span_id)
    WHERE c.app_id = (SELECT id FROM apps WHERE name = app)
      AND c.max_ts >= since AND c.min_ts < until AND u.ts >= since AND u.ts < until
$$;
COMMENT ON FUNCTION lines_between IS 'One app''s lines in a time range from both tiers, for psql';
