-- A request-id (and trace-id) lookup in the compact tier used to test the id filter of every
-- chunk of the app: a row of about 2 KB per 1,000 lines, 20 MB a week on a busy app, read in
-- full by every /requests/{id}. Now each compacted partition also carries, per app, the ids
-- of all its chunks hashed into 256 blocks of one Bloom filter each (src/store/compact/bloom.rs):
-- a lookup reads one block per partition (the one its id hashes to) and then tests the chunk
-- filters of the partitions whose block may hold the id, and no others.
CREATE TABLE id_blocks (
    -- The app whose ids these are.
    app_id  bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    -- The compacted partition's range (line_partitions.from_ts / to_ts).
    from_ts timestamptz NOT NULL,
    to_ts   timestamptz NOT NULL,
    -- 0..255: the block an id's hash selects.
    block   smallint NOT NULL,
    -- The block's Bloom filter over the request ids and trace ids that hash to it (every block
    -- of an app's partition is written, empty ones too, so a missing row means "not known":
    -- a partition compacted before this migration, read as before).
    bits    bytea NOT NULL,
    PRIMARY KEY (app_id, block, from_ts)
);
COMMENT ON TABLE id_blocks IS 'Per app and compacted partition, the request and trace ids of its chunks as 256 Bloom filter blocks: /requests/{id} reads one block per partition to skip the partitions that cannot hold the id';
-- Dropping a partition deletes its blocks; maintenance finds compacted partitions without any.
CREATE INDEX id_blocks_partition ON id_blocks (from_ts, to_ts);
