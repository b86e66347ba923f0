-- The indexes the seed documents list as existing are all present (none of those is rejected by PostgreSQL).
BEGIN;
SELECT plan(22);
SELECT has_index('midi', 'files', 'idx_files_content_hash', ARRAY['content_hash'], 'idx_files_content_hash');
SELECT index_is_unique('midi', 'files', 'idx_files_content_hash', 'idx_files_content_hash is unique');
SELECT has_index('midi', 'files', 'idx_files_filepath', ARRAY['filepath'], 'idx_files_filepath');
SELECT has_index('midi', 'files', 'idx_files_search', ARRAY['search_vector'], 'idx_files_search');
SELECT index_is_type('midi', 'files', 'idx_files_search', 'gin', 'idx_files_search is GIN');
SELECT has_index('midi', 'files', 'idx_files_manufacturer', ARRAY['manufacturer'], 'idx_files_manufacturer');
SELECT has_index('midi', 'files', 'idx_files_collection', ARRAY['collection_name'], 'idx_files_collection');
SELECT has_index('midi', 'files', 'idx_files_folder_tags', ARRAY['folder_tags'], 'idx_files_folder_tags');
SELECT has_index('midi', 'files', 'idx_files_created', ARRAY['created_at'], 'idx_files_created');
SELECT has_index('midi', 'files', 'idx_files_parent', ARRAY['parent_file_id'], 'idx_files_parent');
SELECT has_index('midi', 'files', 'idx_files_batch', ARRAY['import_batch_id'], 'idx_files_batch');
SELECT has_index('midi', 'files', 'idx_files_format', ARRAY['format'], 'idx_files_format');
SELECT has_index('midi', 'files', 'idx_files_num_tracks', ARRAY['num_tracks'], 'idx_files_num_tracks');
SELECT has_index('midi', 'files', 'idx_files_duration', ARRAY['duration_seconds'], 'idx_files_duration');
SELECT has_index('midi', 'musical_metadata', 'idx_metadata_bpm', ARRAY['bpm'], 'idx_metadata_bpm');
SELECT has_index('midi', 'musical_metadata', 'idx_metadata_key', ARRAY['key_signature'], 'idx_metadata_key');
SELECT has_index('midi', 'musical_metadata', 'idx_metadata_time_sig',
                 ARRAY['time_signature_numerator', 'time_signature_denominator'], 'idx_metadata_time_sig');
SELECT has_index('midi', 'musical_metadata', 'idx_metadata_notes', ARRAY['total_notes'], 'idx_metadata_notes');
SELECT has_index('midi', 'musical_metadata', 'idx_metadata_density', ARRAY['note_density'], 'idx_metadata_density');
SELECT has_index('midi', 'musical_metadata', 'idx_metadata_characteristics',
                 ARRAY['is_percussive', 'is_monophonic', 'has_chords'], 'idx_metadata_characteristics');
SELECT has_index('midi', 'musical_metadata', 'idx_metadata_pitch_range',
                 ARRAY['pitch_range_min', 'pitch_range_max'], 'idx_metadata_pitch_range');
SELECT has_index('midi', 'musical_metadata', 'idx_metadata_has_melody', ARRAY['has_melody'], 'idx_metadata_has_melody');
SELECT * FROM finish();
ROLLBACK;
