-- Chunk columns compressed with pglz instead of lz4.
--
-- 0005 chose lz4 as "about as small as pglz and several times faster". Measured on a day of
-- generated router-heavy lines (1.5 M lines, benches/query.rs, 6 M lines over 4 days), the
-- same chunks rewritten with each method:
--
--   lz4    200.5 MB   133.5 B a line
--   pglz   182.6 MB   121.5 B a line   (9% smaller)
--
-- and reading back every message, fields and raw array of that day took 0.27–0.41 s with lz4,
-- 0.63–0.64 s with pglz (about 0.2 µs more a line). Compact days are read far less than they
-- are kept: a search reads only the chunks its filters pass, a page only its newest chunks,
-- and aggregates only the edges of their range. So chunks are now written with pglz. The
-- chunks already written keep lz4 (Postgres reads both); each chunk partition made from now on
-- takes its columns' compression from line_chunks (`LIKE … INCLUDING COMPRESSION`).
-- Every column 0005 set to lz4 (none, on a server built without lz4).
DO $$
DECLARE
    col name;
BEGIN
    FOR col IN SELECT attname FROM pg_attribute
               WHERE attrelid = 'line_chunks'::regclass AND attnum > 0 AND NOT attisdropped
                 AND attcompression = 'l'
    LOOP
        EXECUTE format('ALTER TABLE line_chunks ALTER COLUMN %I SET COMPRESSION pglz', col);
    END LOOP;
END $$;
