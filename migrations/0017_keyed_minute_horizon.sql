-- Minute rollups of the groupings by key age out.
--
-- A minute row per (app, minute, grouping, key) costs its tuple, its indexes and every line's
-- service time once per grouping. On 6 M lines over 4 days (about 1,000 lines a minute) the
-- minute rows by path, dyno, method and host were 9.5 bytes per stored line, at 200 lines a
-- minute about four times that, while a read needs them only for the sub-hour edges of its
-- range (whole hours and coarser come from the hour rows and up). So maintenance deletes them
-- once their minute is older than LOGDRAIN_KEYED_MINUTES_KEEP (default 7 days), and a read by
-- path, dyno, method or host takes the sub-hour edges below the horizon from the lines (of
-- both tiers: at most two edges of under an hour each), exactly as it takes its sub-minute
-- edges. The `all` rows (by=minute, by=hour) and the `status` rows (by=minute with status=)
-- keep their minute rows: their reads are made of minutes.
--
--   keyed_minutes_from  below it, minute rows of dim route/dyno/method/host may be gone;
--                       readers read those edges from lines. Maintenance moves it forward a
--                       whole hour at a time and deletes only below the value an earlier run
--                       published, so a read that looked at it just before never misses rows.
--
-- Rebuilding coarse rows after a partition drop (rollup `forget`) now rebuilds each span from
-- the one below it (hours from minutes, 6 hours from hours, …), so it no longer needs minute
-- rows of old days.
CREATE TABLE rollup_horizon (
    id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
    -- NULL: no minute row has been deleted yet.
    keyed_minutes_from timestamptz
);
COMMENT ON TABLE rollup_horizon IS 'Below keyed_minutes_from, request_rollups has no minute rows for dim route, dyno, method, host: reads take those edges from lines';
INSERT INTO rollup_horizon DEFAULT VALUES;
