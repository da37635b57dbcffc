-- Batches write minute rollup rows only; the merge builds the coarser rows from them.
--
-- Until now a batch wrote each of its rollup rows at five widths (a minute, an hour, 6 hours,
-- a day, 4 days): every router line's service time went into 30 histograms (6 groupings × 5
-- widths) in the batch's own transaction, the largest share of the database's time per batch
-- after the COPY of the lines. Now a batch writes the minute rows (6 histograms a line), and
-- the merge (every LOGDRAIN_ROLLUP_MERGE_EVERY and each maintenance run) adds the minute rows
-- it merges to the hour, 6-hour, day and 4-day rows in the same statement.
--
-- What a read relies on from here: the coarse rows of a bucket hold every line of it except
-- those of the bucket's unmerged minute rows (merged = false, span_secs = 60). So a read takes,
-- for each coarse piece of its range, the coarse rows and the unmerged minute rows inside it.
-- The coarse rows are always merged = true.
--
-- Rows written before this migration: every batch wrote its rows at all five widths, so an
-- unmerged minute row is already in the unmerged coarse rows beside it. Marking every row
-- merged states exactly that (several merged rows in one bucket and group add up, as every
-- reader and the merge already add them).
UPDATE request_rollups SET merged = true WHERE NOT merged;
UPDATE code_rollups SET merged = true WHERE NOT merged;
UPDATE metric_rollups SET merged = true WHERE NOT merged;
