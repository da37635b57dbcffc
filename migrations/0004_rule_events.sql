-- What the ingest rules (the `[rules]` table of the config file) did, so that no dropped or
-- sampled-out line and no redaction is silent: one row per request, rule and action, written in
-- the same transaction as the request's lines (a retried frame counts once). /loss sums them
-- over a time range; maintenance prunes them with the retention period.
CREATE TABLE rule_events (
    app_id bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    at     timestamptz NOT NULL DEFAULT now(),
    -- The rule's name (a drop or sample rule, or a redaction rule such as `card_numbers`).
    rule   text NOT NULL,
    -- dropped: removed by a drop rule; sampled_out: removed by a sample rule; redacted: values
    -- replaced by [REDACTED] (counted per value, the line is kept).
    action text NOT NULL CHECK (action IN ('dropped', 'sampled_out', 'redacted')),
    count  bigint NOT NULL
);
CREATE INDEX rule_events_app_at ON rule_events (app_id, at);
COMMENT ON TABLE rule_events IS 'Lines dropped or sampled out and values redacted by ingest rules, per request';
