-- Undo 0014: indexes a bulk load left deferred are built again, the dropped indexes come back, tag_counts
-- counts file_tags again, and the computed tags become file_tags rows again (their source read the way
-- midi.derive_tags gave it: tempo and key from the file name are 'path', category, tempo and key from the
-- notes 'analysis', manufacturer and genre words 'path').

DO $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT * FROM midi.deferred_indexes ORDER BY name LOOP
        IF to_regclass('midi.' || quote_ident(d.name)) IS NOT NULL THEN
            EXECUTE format('DROP INDEX midi.%I', d.name);
        END IF;
        EXECUTE d.definition;  -- pg_get_indexdef of the index when it was dropped (writable by its owner only)
        EXECUTE format('COMMENT ON INDEX midi.%I IS %L', d.name, d.comment);
    END LOOP;
END
$$;
DROP TABLE midi.deferred_indexes;

SET LOCAL midi.defer_sync = 'on';
INSERT INTO midi.file_tags (file_id, tag_id, source)
SELECT f.id, t.id,
       CASE WHEN t.category = 'category' THEN 'analysis'
            WHEN t.category = 'tempo' AND m.bpm_source IS DISTINCT FROM 'filename' THEN 'analysis'
            WHEN t.category = 'key' AND m.key_source IS DISTINCT FROM 'filename' THEN 'analysis'
            ELSE 'path' END
  FROM midi.files f
       CROSS JOIN LATERAL unnest(f.tag_ids) AS x(tag_id)
       JOIN midi.tags t ON t.id = x.tag_id
       LEFT JOIN midi.musical_metadata m ON m.file_id = f.id
 WHERE cardinality(f.tag_ids) > 0
ON CONFLICT (file_id, tag_id) DO NOTHING;
RESET midi.defer_sync;
COMMENT ON TABLE midi.file_tags IS NULL;
COMMENT ON COLUMN midi.files.tag_ids IS 'Ids of the file''s tags (denormalized from file_tags by trigger)';

DROP MATERIALIZED VIEW midi.tag_counts;
CREATE MATERIALIZED VIEW midi.tag_counts AS
SELECT ft.tag_id, count(*) AS files
  FROM midi.file_tags ft
 GROUP BY ft.tag_id;
CREATE UNIQUE INDEX tag_counts_key ON midi.tag_counts (tag_id);

CREATE INDEX idx_files_filepath ON midi.files USING hash (filepath);
COMMENT ON INDEX midi.idx_files_filepath IS
    'The seed''s idx_files_filepath: files WHERE filepath = $1 (a file looked up by its canonical path)';
CREATE INDEX idx_files_manufacturer ON midi.files (manufacturer) WHERE manufacturer IS NOT NULL;
CREATE INDEX idx_files_folder_tags ON midi.files USING gin (folder_tags);
CREATE INDEX idx_files_created ON midi.files (created_at DESC);
CREATE INDEX idx_files_batch ON midi.files (import_batch_id) WHERE import_batch_id IS NOT NULL;
CREATE INDEX idx_files_format ON midi.files (format);
CREATE INDEX idx_files_num_tracks ON midi.files (num_tracks);
CREATE INDEX idx_files_duration ON midi.files (duration_seconds) WHERE duration_seconds IS NOT NULL;
CREATE INDEX idx_metadata_bpm ON midi.musical_metadata (bpm) WHERE bpm IS NOT NULL;
CREATE INDEX idx_metadata_key ON midi.musical_metadata (key_signature) WHERE key_signature != 'UNKNOWN';
CREATE INDEX idx_metadata_time_sig ON midi.musical_metadata (time_signature_numerator, time_signature_denominator);
CREATE INDEX idx_metadata_notes ON midi.musical_metadata (total_notes DESC);
CREATE INDEX idx_metadata_density ON midi.musical_metadata (note_density DESC);
CREATE INDEX idx_metadata_characteristics ON midi.musical_metadata (is_percussive, is_monophonic, has_chords);
CREATE INDEX idx_metadata_polyphony ON midi.musical_metadata (polyphony_max) WHERE polyphony_max IS NOT NULL;
CREATE INDEX idx_metadata_pitch_range ON midi.musical_metadata (pitch_range_min, pitch_range_max);
CREATE INDEX idx_metadata_has_melody ON midi.musical_metadata (has_melody) WHERE has_melody = TRUE;
CREATE INDEX idx_file_instruments_program ON midi.file_instruments (program, is_drum);
CREATE INDEX idx_file_categories_primary ON midi.file_categories (primary_category);
CREATE INDEX idx_import_errors_class ON midi.import_errors (error_class);
CREATE INDEX idx_analysis_errors_class ON midi.analysis_errors (error_class);

-- the comments 0014 set, back to what the earlier migrations left
DO $$
DECLARE
    i record;
BEGIN
    FOR i IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'midi' AND c.relkind = 'i' AND obj_description(c.oid, 'pg_class') LIKE 'serves: %' LOOP
        EXECUTE format('COMMENT ON INDEX midi.%I IS NULL', i.relname);
    END LOOP;
END
$$;
COMMENT ON INDEX midi.file_paths_path_key IS
    'One row per location: import_merge''s ON CONFLICT on file_paths; import_finish''s prune (paths under a root: a range of path_head)';
COMMENT ON INDEX midi.import_errors_path_key IS
    'One error row per location: import_merge''s ON CONFLICT and its removal of errors a path no longer has; import_finish''s prune of stale errors under a root';
COMMENT ON INDEX midi.file_instruments_part_key IS
    'One row per part; serves analysis_apply''s replace (DELETE ... WHERE file_id = ANY), file_details and the sync triggers (WHERE file_id = ...)';
