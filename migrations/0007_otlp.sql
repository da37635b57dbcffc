-- OpenTelemetry logs (OTLP/HTTP, `POST /v1/logs`): trace context on every line, drain tokens
-- found without an app name (`Authorization: Bearer TOKEN`), and space credentials whose
-- exports carry many apps, each named by its `service.name`.

ALTER TABLE lines
    -- W3C trace id of an OTLP log record, 32 lower-case hex digits; NULL for Logplex lines and
    -- records without one.
    ADD COLUMN trace_id text,
    -- Span id of an OTLP log record, 16 lower-case hex digits; NULL when absent.
    ADD COLUMN span_id  text;

COMMENT ON COLUMN lines.trace_id IS 'OTLP trace id (hex); /logs?trace_id= and /requests/{id} find lines by it';
COMMENT ON COLUMN lines.span_id IS 'OTLP span id (hex)';
COMMENT ON COLUMN lines.tags IS 'Drain-URL query parameters as string tags; for OTLP lines also the resource and record attributes under their own names';

-- trace_id= and /requests/{id}: the lines of one trace, few per trace.
CREATE INDEX lines_app_trace_id ON lines (app_id, trace_id) WHERE trace_id IS NOT NULL;

-- `Authorization: Bearer TOKEN` names no app: the drain token alone finds it.
CREATE INDEX apps_drain_token_hash ON apps (drain_token_hash) WHERE drain_token_hash IS NOT NULL;

-- A space credential: one token for every app of a Heroku space (`heroku telemetry:add
-- -s SPACE`). Each record's resource `service.name` names its app; an app that does not exist
-- yet is created under the space on first use. A space may write only to its own apps.
CREATE TABLE spaces (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Heroku's space name, same rules as an app name.
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9-]{1,62}$'),
    -- SHA-256 of the space token (the Bearer token of the telemetry drain).
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE spaces IS 'Space-level OTLP credentials: one token, apps named by service.name';

ALTER TABLE apps
    -- The space whose credential created this app on first use, or that `apps create --space`
    -- put it in; NULL for an app of its own. A space token writes only to apps of its space.
    ADD COLUMN space_id bigint REFERENCES spaces (id) ON DELETE SET NULL;
COMMENT ON COLUMN apps.space_id IS 'Space whose OTLP credential may write to this app (NULL: none)';

-- psql view with the trace columns.
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
FROM lines l;
