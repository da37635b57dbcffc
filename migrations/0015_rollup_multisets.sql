-- Service-time histograms as multisets where that is smaller. A minute row of one key holds
-- a handful of router lines whose service times are nearly all distinct: (value, count) pairs
-- cost 12 bytes a line there (int4 + int8), where the values alone, repeats included, cost 4.
-- On 10 M lines over 35 days the counts were 45% of the minute rows and 36% of the table.
--
-- A row now holds its histogram in one of two forms, chosen per row by whichever writes it
-- (the batch writer in src/store/rollup/sql.rs, and the merge, which also rebuilds coarse rows
-- after a partition drop): the lines are fewer than 3 × the distinct values →
--   ms        every line's value, ascending, repeats included, NULLs (lines without one) last
--   ms_count  NULL
-- otherwise, as before, each distinct value once with its count in ms_count. Every reader
-- takes a NULL count as 1 and groups by value, so both forms give the same histogram, the same
-- percentiles and the same merge. Rows written before this migration (and by the SQL backfill
-- logdrain_rollup_lines) keep the counted form; they are as valid and are not rewritten.
ALTER TABLE request_rollups ALTER COLUMN ms_count DROP NOT NULL;
COMMENT ON COLUMN request_rollups.ms IS 'service_ms values ascending (NULL last: lines without one): each distinct value once with its count in ms_count, or, when ms_count is NULL, one element per line';
COMMENT ON COLUMN request_rollups.ms_count IS 'How many lines had each value of ms; NULL: every element of ms is one line (the smaller form for rows of few lines)';
