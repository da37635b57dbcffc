-- psql reads both tiers with the OTLP trace and span ids: `all_lines` and
-- `lines_between(app, since, until)` gain the columns `trace_id` and `span_id` (at the end, so
-- every existing query keeps its meaning), and `lines_with_fields` reads both tiers again
-- (0007 had made it read the row tier only when it added the trace columns).

CREATE OR REPLACE VIEW all_lines AS
SELECT id, app_id, ts, received_at, pri, source, dyno, kind, level, message, raw, tags, fields,
       frame_id, status, service_ms, connect_ms, bytes, method, path, host, route, router_dyno,
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
           l.message, l.raw, l.tags, l.fields, l.frame_id, l.status, l.service_ms, l.connect_ms,
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

-- The typed columns merged back into `fields`, both tiers.
CREATE OR REPLACE VIEW lines_with_fields AS
SELECT l.id, l.app_id, l.ts, l.received_at, l.source, l.dyno, l.kind,
       CASE l.level WHEN 2 THEN 'critical' WHEN 3 THEN 'error' WHEN 4 THEN 'warning'
                    WHEN 5 THEN 'notice' WHEN 6 THEN 'info' ELSE 'debug' END AS level,
       l.message,
       COALESCE(l.fields, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
           'status', l.status, 'service_ms', l.service_ms, 'connect_ms', l.connect_ms,
           'bytes', l.bytes, 'method', l.method, 'path', l.path, 'host', l.host,
           'dyno', l.router_dyno, 'request_id', l.request_id, 'code', l.code)) AS fields,
       l.tags, l.parts, l.continued, l.frame_id, l.trace_id, l.span_id
FROM all_lines l;
