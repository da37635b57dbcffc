-- /requests/{id} on the hot tier without a B-tree over request ids.
--
-- Request ids are random (UUIDs), so every router line's insert into the B-tree
-- lines_app_request_id landed on a random leaf page: measured on 1 M generated router-heavy
-- lines (one binary COPY into a table shaped like `lines`, with its (app_id, ts, id) and (id)
-- B-trees), that one index took the COPY from 7.6 s to 13.4 s, more than every other index
-- together. Its replacement is a BRIN index whose summaries are Bloom filters (Postgres 14+):
-- one small filter per 16 heap pages, which a new line only ORs its id into (the COPY took
-- 8.4 s with it). A lookup tests every filter of the partition (about 2 MB for a million lines,
-- a few milliseconds) and reads the 16 pages of each range whose filter may hold the id: a
-- request's lines arrive together, so that is one or two ranges plus about 1% false ones.
--
--   lines_app_request_id_bloom  BRIN (app_id minmax, request_id bloom)  /requests/{id},
--                               request_id= (replaces lines_app_request_id)
--
-- Pages past the last summarized range are read by every lookup until they are summarized:
-- autosummarize asks autovacuum to summarize a range once the next one starts, and
-- maintenance summarizes whatever is left on each run (src/store/partitions.rs).
-- 512 distinct ids per 16 pages: a page holds 15 to 30 lines, not all of them with an id.
-- Compacted partitions are unaffected: their ids are in id_blocks and the chunk filters.
DROP INDEX lines_app_request_id;
CREATE INDEX lines_app_request_id_bloom ON lines USING brin
    (app_id int8_minmax_ops,
     request_id text_bloom_ops (n_distinct_per_range = 512, false_positive_rate = 0.01))
    WITH (pages_per_range = 16, autosummarize = on);
