-- Rollback of 0006_create_search_objects.
-- The triggers of db/functions/45_sync.sql read columns this migration adds (and its WHEN clauses pin
-- columns of 0005), so they go with it; the next migrate re-creates them.
DROP FUNCTION IF EXISTS midi._sync_from_children() CASCADE;
DROP FUNCTION IF EXISTS midi._sync_from_tags() CASCADE;
DROP FUNCTION IF EXISTS midi._files_cached_from_name() CASCADE;
DROP FUNCTION IF EXISTS midi.sync_files(bigint[]);
DROP MATERIALIZED VIEW midi.tag_counts;
DROP MATERIALIZED VIEW midi.bpm_bucket_counts;
DROP MATERIALIZED VIEW midi.category_counts;
DROP MATERIALIZED VIEW midi.key_counts;
DROP MATERIALIZED VIEW midi.collection_counts;
DROP MATERIALIZED VIEW midi.manufacturer_counts;
DROP MATERIALIZED VIEW midi.library_stats;
DROP TYPE midi.search_hit CASCADE;
DROP TYPE midi._search_args CASCADE;
DROP TYPE midi.search_filters CASCADE;
DROP TABLE midi.saved_searches;
DROP TABLE midi.ratings;
DROP INDEX midi.idx_files_filename_trgm;
DROP INDEX midi.idx_files_name_words;
DROP FUNCTION midi.name_tsvector(text);
DROP INDEX midi.idx_files_name;
DROP INDEX midi.idx_files_tag_ids;
DROP INDEX midi.idx_files_manufacturer_newest;
DROP INDEX midi.idx_files_bpm;
DROP INDEX midi.idx_files_key_bpm;
DROP INDEX midi.idx_files_key_newest;
DROP INDEX midi.idx_files_newest;
ALTER TABLE midi.files DROP COLUMN tag_ids;
COMMENT ON COLUMN midi.files.cached_bpm IS NULL;
COMMENT ON COLUMN midi.files.cached_key IS NULL;
COMMENT ON COLUMN midi.files.cached_category IS NULL;
-- Only a pg_trgm that 0006 created (in schema midi) is ours to drop.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                WHERE e.extname = 'pg_trgm' AND n.nspname = 'midi') THEN
        DROP EXTENSION pg_trgm;
    END IF;
END
$$;
