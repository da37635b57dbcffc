-- The write path: apps and their tokens, the stored lines, the frame ledger that makes Logplex
-- retries idempotent, and the per-app loss accounting behind /api/apps and /loss.

-- One row per Heroku app draining into this server.
CREATE TABLE apps (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Heroku's app name; the Basic-auth user name of the drain URL.
    name                text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9-]{1,62}$'),
    -- SHA-256 of the drain token (the Basic-auth password). NULL for apps created on first use
    -- in quick-start mode, which only the server-wide LOGDRAIN_DRAIN_TOKEN can write to.
    -- Tokens are 256-bit random values, so a plain hash is enough: there is nothing to brute-force.
    drain_token_hash    bytea,
    -- SHA-256 of the app's read token for the query API (Bearer), NULL when none was issued.
    read_token_hash     bytea,
    -- The last `Logplex-Drain-Token` (d.<uuid>) seen: tells which Heroku drain feeds this app.
    logplex_drain_token text,
    created_at          timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE apps IS 'Heroku apps draining into logdrain; tokens stored only as SHA-256 hashes';

-- Running totals per app, bumped once per written batch (never per line).
CREATE TABLE app_counters (
    app_id       bigint PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    -- Lines stored.
    lines        bigint NOT NULL DEFAULT 0,
    -- Messages Logplex/log-shuttle reported lost (L10/L12/L13).
    dropped      bigint NOT NULL DEFAULT 0,
    -- When the app last delivered a batch.
    last_seen_at timestamptz
);

-- Every stored line. Row layout follows the order the API filters on; classification fields
-- beyond kind and level live in `fields` (jsonb).
--
-- Why one wide table with the raw bytes: logdrain promises byte-exact storage, and a Logplex
-- message may be invalid UTF-8 or hold NULs that `text` cannot keep. `raw` is the message as
-- framed (header, MSG, trailing LF if one was sent); `message` is the searchable text.
CREATE TABLE lines (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The app (apps.id). Deliberately no foreign key: its per-row check was ~40% of the COPY
    -- work in profiles of the ingest path; `logdrain apps delete` removes an app's lines itself.
    app_id      bigint NOT NULL,
    -- The line's own syslog timestamp (UTC); the receive time when it had none or a bad one.
    ts          timestamptz NOT NULL,
    -- When logdrain received the request that carried the line.
    received_at timestamptz NOT NULL,
    -- Syslog PRI (facility*8+severity); NULL for a raw line that did not parse as syslog.
    pri         smallint,
    -- Syslog APP-NAME: 'app' or 'heroku' ('' for raw lines). `heroku logs --source`.
    source      text NOT NULL,
    -- Syslog PROCID: 'web.1', 'router', 'api', … ('' for raw lines). `heroku logs --dyno`.
    dyno        text NOT NULL,
    -- router, app, api, system, runtime_metric or addon.
    kind        text NOT NULL CHECK (kind IN ('router', 'app', 'api', 'system', 'runtime_metric', 'addon')),
    -- Inferred level as a syslog severity number: 2 critical, 3 error, 4 warning, 5 notice,
    -- 6 info, 7 debug. "At least warning" is `level <= 4`.
    level       smallint NOT NULL,
    -- MSG as UTF-8 text (invalid bytes and NULs replaced), without its trailing LF.
    message     text NOT NULL,
    -- The exact bytes received for this message.
    raw         bytea NOT NULL,
    -- Drain-URL query parameters (`/logs?env=production`), as string tags.
    tags        jsonb,
    -- Fields extracted by the classifier.
    fields      jsonb,
    -- Logplex-Frame-Id of the request that carried the line, when it had one.
    frame_id    text
);
COMMENT ON TABLE lines IS 'Every stored log line, byte-exact in raw';

-- The newest-first reads of `heroku logs` (and every time range) walk this index.
CREATE INDEX lines_app_ts ON lines (app_id, ts DESC, id DESC);

-- The dedupe ledger: a frame id written in the same transaction as its lines, so a retried
-- frame (same Logplex-Frame-Id, possibly a different body because of a rebuilt L10 line) is
-- answered 204 and stores nothing twice, even across processes sharing this database.
CREATE TABLE frames (
    app_id      bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    frame_id    text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- Lines stored for this frame.
    lines       integer NOT NULL,
    PRIMARY KEY (app_id, frame_id)
);
COMMENT ON TABLE frames IS 'Logplex-Frame-Id ledger for exactly-once ingest across retries';

-- Loss and delivery anomalies as they happened, so /loss can answer for any time range.
CREATE TABLE loss_events (
    app_id   bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now(),
    -- 'dropped' (L10/L12/L13 report), 'msg_count_mismatch' or 'duplicate_frame'.
    event    text NOT NULL CHECK (event IN ('dropped', 'msg_count_mismatch', 'duplicate_frame')),
    -- Messages dropped, or for a mismatch the header count minus the parsed count; 1 for a duplicate.
    count    bigint NOT NULL,
    frame_id text
);
CREATE INDEX loss_events_app_at ON loss_events (app_id, at);
