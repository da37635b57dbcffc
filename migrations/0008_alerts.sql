-- Alert rules, their state and what was sent about them (see docs/ALERTS.md).
--
-- One process of many evaluates the rules each round: it takes a session advisory lock and
-- claims the round in `alert_rounds`, so a round happens once per LOGDRAIN_ALERT_EVERY however
-- many servers share this database. A rule's state lives on its row; every state change is a
-- row of `alert_history`, and every notification a row of `alert_deliveries`, written in the
-- same transaction as the state change, so a notification exists once or not at all.

CREATE TABLE alert_rules (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The app's name (not apps.id): a rule in the config file may name an app that has not
    -- sent its first line yet, which is exactly when an absence rule should fire.
    app             text NOT NULL,
    -- Unique per app; the rule's name in URLs and notifications.
    name            text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    -- count, rate, latency, absence or loss.
    kind            text NOT NULL CHECK (kind IN ('count', 'rate', 'latency', 'absence', 'loss')),
    -- The /logs filter set as its query string ('' for every line).
    filter          text NOT NULL DEFAULT '',
    -- The value compared (count: lines; rate: share 0..1; latency: ms; loss: messages).
    threshold       double precision NOT NULL,
    -- The time window evaluated, back from each round's time.
    window_secs     bigint NOT NULL CHECK (window_secs > 0),
    -- How long a breach must last before the rule fires (0: at once).
    for_secs        bigint NOT NULL DEFAULT 0 CHECK (for_secs >= 0),
    -- rate only: fewer router lines than this in the window never breach.
    min_volume      bigint NOT NULL DEFAULT 0,
    -- Where notifications go: [{"url": …, "format": "webhook"|"slack"|"alertmanager"}].
    -- The URLs hold secrets: the API shows them only as scheme://host/….
    notify          jsonb NOT NULL DEFAULT '[]',
    -- While firing, a reminder every this many seconds (NULL: none).
    remind_secs     bigint CHECK (remind_secs > 0),
    -- No notification is sent before this time (the rule is still evaluated).
    snoozed_until   timestamptz,
    -- 'config' (the [[alerts]] of the config file, re-applied at every start) or 'api'.
    source          text NOT NULL CHECK (source IN ('config', 'api')),
    -- SHA-256 of the token that grants GET …/alerts/{name}/status and nothing else.
    status_token_hash bytea,
    -- ok, pending (breaching, waiting out for_secs), firing or resolved.
    state           text NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'pending', 'firing', 'resolved')),
    -- When the rule entered its state.
    state_since     timestamptz NOT NULL DEFAULT now(),
    -- The value of the last evaluation (NULL: no data, e.g. a latency with no request).
    value           double precision,
    -- When the rule was last evaluated.
    evaluated_at    timestamptz,
    -- The state the last notification announced ('firing' or 'resolved'; NULL: none yet).
    notified_state  text CHECK (notified_state IN ('firing', 'resolved')),
    -- When that notification (or the last reminder) was queued.
    notified_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (app, name)
);
COMMENT ON TABLE alert_rules IS 'Alert rules (config file and API), each with its current state';

-- Every state change of every rule, newest read first.
CREATE TABLE alert_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id    bigint NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    -- The round's time.
    at         timestamptz NOT NULL,
    -- The state left and the state entered.
    from_state text NOT NULL,
    to_state   text NOT NULL,
    -- The value that caused it.
    value      double precision
);
CREATE INDEX alert_history_rule_at ON alert_history (rule_id, at DESC);
COMMENT ON TABLE alert_history IS 'State changes of alert rules';

-- One row per notification and target: queued with the state change, then sent.
CREATE TABLE alert_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id      bigint NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    -- firing, resolved or reminder.
    event        text NOT NULL CHECK (event IN ('firing', 'resolved', 'reminder')),
    -- The full webhook URL (a secret: never logged nor shown).
    url          text NOT NULL,
    -- The URL as it may be shown: scheme://host/….
    target       text NOT NULL,
    -- webhook, slack or alertmanager.
    format       text NOT NULL,
    -- The body, built when the notification was queued.
    payload      jsonb NOT NULL,
    -- pending (to send or being sent), delivered, or failed (attempts used up or refused).
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    -- HTTP attempts so far.
    attempts     integer NOT NULL DEFAULT 0,
    -- A sender owns the row until then; past it, a later round takes it over (the sender died).
    lease_until  timestamptz,
    -- The last attempt's HTTP status, or its error (without the URL).
    last_status  integer,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- When it was delivered or given up.
    finished_at  timestamptz
);
CREATE INDEX alert_deliveries_pending ON alert_deliveries (id) WHERE status = 'pending';
CREATE INDEX alert_deliveries_rule ON alert_deliveries (rule_id, id DESC);
COMMENT ON TABLE alert_deliveries IS 'Alert notifications per target, with their delivery outcome';

-- The one row that says when the last evaluation round ran (shared by every process).
CREATE TABLE alert_rounds (
    -- Always 1: a single row.
    id          integer PRIMARY KEY CHECK (id = 1),
    -- The time of the last round; a process starts one only when LOGDRAIN_ALERT_EVERY has passed.
    last_run_at timestamptz
);
INSERT INTO alert_rounds (id) VALUES (1);
COMMENT ON TABLE alert_rounds IS 'When the last alert evaluation round ran, across processes';
