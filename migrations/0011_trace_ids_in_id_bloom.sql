-- /requests/{id} and trace_id= find OTLP lines by trace id as well as router lines by request
-- id. In the compact tier both are pruned by one Bloom filter per chunk, `rids_bloom`, which
-- from now on holds the chunk's request ids *and* trace ids. Chunks compacted before held only
-- request ids: `ids_cover_traces` says which filter a chunk has, and a reader looking for a
-- trace id reads a chunk whose filter does not cover traces (correct, only slower).
ALTER TABLE line_chunks ADD COLUMN ids_cover_traces boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN line_chunks.ids_cover_traces IS
    'True when rids_bloom holds the trace ids of the chunk as well as its request ids (chunks compacted before 0011 without trace ids are marked true here: there is nothing to miss)';
-- A chunk without any trace id misses nothing.
UPDATE line_chunks
SET ids_cover_traces = true
WHERE NOT EXISTS (SELECT 1 FROM unnest(trace_id) t WHERE t IS NOT NULL);
