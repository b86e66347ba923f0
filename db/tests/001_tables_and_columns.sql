-- Every table of the design contract exists with the column types of the seed documents.
BEGIN;
CREATE TEMP TABLE expected_columns (tbl name, col name, typ text) ON COMMIT DROP;
INSERT INTO expected_columns VALUES
    ('import_batches', 'id', 'bigint'), ('import_batches', 'roots', 'text[]'),
    ('import_batches', 'status', 'text'), ('import_batches', 'started_at', 'timestamp with time zone'),
    ('import_batches', 'finished_at', 'timestamp with time zone'), ('import_batches', 'files_seen', 'bigint'),
    ('import_batches', 'files_new', 'bigint'), ('import_batches', 'duplicates', 'bigint'),
    ('import_batches', 'errors', 'bigint'), ('import_batches', 'other_files', 'bigint'),
    ('files', 'id', 'bigint'), ('files', 'filename', 'text'), ('files', 'filepath', 'text'),
    ('files', 'original_filename', 'text'), ('files', 'content_hash', 'bytea'),
    ('files', 'file_size_bytes', 'bigint'), ('files', 'format', 'smallint'), ('files', 'num_tracks', 'smallint'),
    ('files', 'ticks_per_quarter_note', 'integer'), ('files', 'duration_seconds', 'numeric(12,3)'),
    ('files', 'duration_ticks', 'bigint'), ('files', 'manufacturer', 'text'), ('files', 'collection_name', 'text'),
    ('files', 'folder_tags', 'text[]'), ('files', 'search_vector', 'tsvector'), ('files', 'parent_file_id', 'bigint'),
    ('files', 'import_batch_id', 'bigint'), ('files', 'created_at', 'timestamp with time zone'),
    ('files', 'updated_at', 'timestamp with time zone'), ('files', 'analyzed_at', 'timestamp with time zone'),
    ('files', 'cached_bpm', 'numeric(6,2)'), ('files', 'cached_key', 'midi.musical_key'),
    ('files', 'cached_category', 'midi.file_category'),
    ('file_paths', 'id', 'bigint'), ('file_paths', 'path', 'text'), ('file_paths', 'path_bytes', 'bytea'),
    ('file_paths', 'file_id', 'bigint'), ('file_paths', 'first_seen', 'timestamp with time zone'),
    ('file_paths', 'last_seen', 'timestamp with time zone'), ('file_paths', 'missing_since', 'timestamp with time zone'),
    ('import_errors', 'path', 'text'), ('import_errors', 'path_bytes', 'bytea'), ('import_errors', 'batch_id', 'bigint'),
    ('import_errors', 'error_class', 'text'), ('import_errors', 'message', 'text'),
    ('analysis_errors', 'file_id', 'bigint'), ('analysis_errors', 'error_class', 'text'),
    ('analysis_errors', 'message', 'text'),
    ('musical_metadata', 'file_id', 'bigint'), ('musical_metadata', 'bpm', 'numeric(6,2)'),
    ('musical_metadata', 'key_signature', 'midi.musical_key'),
    ('musical_metadata', 'time_signature_numerator', 'smallint'),
    ('musical_metadata', 'time_signature_denominator', 'smallint'), ('musical_metadata', 'total_notes', 'integer'),
    ('musical_metadata', 'is_percussive', 'boolean'), ('musical_metadata', 'is_monophonic', 'boolean'),
    ('musical_metadata', 'has_chords', 'boolean'), ('musical_metadata', 'has_melody', 'boolean'),
    ('musical_metadata', 'note_density', 'numeric(10,3)'), ('musical_metadata', 'polyphony_max', 'smallint'),
    ('musical_metadata', 'pitch_range_min', 'smallint'), ('musical_metadata', 'pitch_range_max', 'smallint'),
    ('file_instruments', 'file_id', 'bigint'), ('file_instruments', 'channel', 'smallint'),
    ('file_instruments', 'program', 'smallint'), ('file_instruments', 'is_drum', 'boolean'),
    ('file_categories', 'file_id', 'bigint'), ('file_categories', 'primary_category', 'midi.file_category'),
    ('file_categories', 'secondary_category', 'midi.file_category'),
    ('tags', 'id', 'bigint'), ('tags', 'name', 'text'),
    ('file_tags', 'file_id', 'bigint'), ('file_tags', 'tag_id', 'bigint'), ('file_tags', 'source', 'text'),
    ('file_tags', 'added_at', 'timestamp with time zone'),
    ('favorites', 'file_id', 'bigint'), ('favorites', 'created_at', 'timestamp with time zone');

SELECT plan(1 + 11 + (SELECT count(*)::int FROM expected_columns));

SELECT has_schema('midi', 'schema midi exists');
SELECT has_table('midi', t, format('table midi.%s exists', t))
FROM unnest(ARRAY['files', 'file_paths', 'import_batches', 'import_errors', 'analysis_errors',
                  'musical_metadata', 'file_instruments', 'file_categories', 'tags', 'file_tags',
                  'favorites']::name[]) AS t;
SELECT col_type_is('midi', tbl, col, typ, format('midi.%s.%s is %s', tbl, col, typ))
FROM expected_columns ORDER BY tbl, col;

SELECT * FROM finish();
ROLLBACK;
