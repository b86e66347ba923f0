-- Only the indexes a query proves, a bulk-load path for the search indexes, and tags that are computed
-- instead of stored.
--
-- 1. Every index says what it serves (COMMENT ON INDEX ... IS 'serves: <call>; <call> -- why'), and the
--    indexes no API call, seed query, foreign key or constraint uses are dropped: the seed's index list on
--    files (format, num_tracks, folder_tags, import_batch_id, filepath, created_at, manufacturer: newer
--    indexes serve the same filters) and on musical_metadata (search reads files' cached columns; the
--    seed's own query casts bpm and key_signature, which no index can serve), and the category, program
--    and error-class indexes nothing filters by. tests/test_index_purpose.py proves each declaration
--    against a library big enough for the planner to choose.
-- 2. Indexes whose comment ends with "[deferrable]" are search-only: no write path, constraint or foreign
--    key needs them. A bulk load (an import or analysis that adds or rewrites many files compared with what
--    the library holds) drops them first and builds them again at its end (db/functions/25_bulk_load.sql);
--    midi.deferred_indexes remembers each one dropped, so a run killed before the rebuild is repaired by
--    the next import, analysis or `midicenter db migrate`.
-- 3. Tags that restate what a file's own row says (category, tempo bucket, key, manufacturer, genre words)
--    are no longer file_tags rows: they are computed (midi.derive_tags) into files.tag_ids, in the one
--    files update of analysis. file_tags holds the users' tags only; tag_counts counts files.tag_ids.
-- depends: 0013_create_profile_runs

-- 1. Indexes nothing uses.
DROP INDEX midi.idx_files_filepath;
DROP INDEX midi.idx_files_manufacturer;
DROP INDEX midi.idx_files_folder_tags;
DROP INDEX midi.idx_files_created;
DROP INDEX midi.idx_files_batch;
DROP INDEX midi.idx_files_format;
DROP INDEX midi.idx_files_num_tracks;
DROP INDEX midi.idx_metadata_bpm;
DROP INDEX midi.idx_metadata_key;
DROP INDEX midi.idx_metadata_time_sig;
DROP INDEX midi.idx_metadata_notes;
DROP INDEX midi.idx_metadata_density;
DROP INDEX midi.idx_metadata_characteristics;
DROP INDEX midi.idx_metadata_polyphony;
DROP INDEX midi.idx_metadata_pitch_range;
DROP INDEX midi.idx_metadata_has_melody;
DROP INDEX midi.idx_file_instruments_program;
DROP INDEX midi.idx_file_categories_primary;
DROP INDEX midi.idx_import_errors_class;
DROP INDEX midi.idx_analysis_errors_class;
-- the duration order is idx_files_duration_id (0012), of which this partial index is a prefix
DROP INDEX midi.idx_files_duration;

-- 3. Tag counts from files.tag_ids (every tag a file carries, computed or the users'), refreshed by
--    midi.refresh_views like the other facet views.
DROP MATERIALIZED VIEW midi.tag_counts;
CREATE MATERIALIZED VIEW midi.tag_counts AS
SELECT t.tag_id, count(*) AS files
  FROM midi.files f CROSS JOIN LATERAL unnest(f.tag_ids) AS t(tag_id)
 GROUP BY t.tag_id;
CREATE UNIQUE INDEX tag_counts_key ON midi.tag_counts (tag_id);

-- The tags analysis stored as rows are computed from now on (files.tag_ids keeps them until the file is
-- synced or analyzed again, which computes the same ids). The sync triggers stand aside: tag_ids is right.
SET LOCAL midi.defer_sync = 'on';
DELETE FROM midi.file_tags WHERE source IN ('path', 'analysis');
RESET midi.defer_sync;
COMMENT ON TABLE midi.file_tags IS
    'The tags users gave files (midi.tag); the tags a file''s facts give are computed into files.tag_ids';
COMMENT ON COLUMN midi.files.tag_ids IS
    'Ids of every tag the file carries: its users'' tags (file_tags) and, once analyzed, the tags its facts give (midi.derive_tags)';

-- 2. What a bulk load dropped and must build again.
CREATE TABLE midi.deferred_indexes (
    name         text PRIMARY KEY,
    table_name   text NOT NULL,
    definition   text NOT NULL,
    comment      text,
    deferred_by  text NOT NULL CHECK (deferred_by IN ('import', 'analysis')),
    deferred_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE midi.deferred_indexes IS
    'Search-only ([deferrable]) indexes a bulk load dropped, with their definition and comment, until they are built again';

-- What each index serves (the profile reads the list between "serves:" and " -- ").
COMMENT ON INDEX midi.files_pkey IS
    'serves: file details; load_tracks of 10; single_lookup; batch_track_loading; find_by_id_essential; find_for_analysis -- a file by its id';
COMMENT ON INDEX midi.idx_files_content_hash IS
    'serves: duplicate_check; midi.import_merge -- one row per content: the import''s ON CONFLICT (content_hash) and its probe of each content''s canonical path';
COMMENT ON INDEX midi.idx_files_parent IS
    'serves: foreign key files.parent_file_id -- the ON DELETE SET NULL of a deleted parent file (partial: files without a parent have no entry)';
COMMENT ON INDEX midi.idx_files_search IS
    'serves: text, rare word; facets, rare word; search_primary -- the postings of a text query rare enough to read them (midi._search_args) [deferrable]';
COMMENT ON INDEX midi.idx_files_name_words IS
    'serves: midi.search q=$maker -- the first relevance tier (every word in the file name) of a word common in the library but rare in file names, such as a manufacturer [deferrable]';
COMMENT ON INDEX midi.idx_files_filename_trgm IS
    'serves: fuzzy name (typo) -- trigram candidates of a fuzzy file-name search [deferrable]';
COMMENT ON INDEX midi.idx_files_tag_ids IS
    'serves: tags (all of two) -- tag filters (tags_all, tags_any) as an array test on files.tag_ids [deferrable]';
COMMENT ON INDEX midi.idx_files_newest IS
    'serves: newest page; text, broad word ''bass''; page 100 of ''bass'' (keyset) -- newest first (id the keyset tie-breaker): a page without a selective filter, the relevance tiers of a broad word [deferrable]';
COMMENT ON INDEX midi.idx_files_key_newest IS
    'serves: facets, BPM + key -- one key newest first, the tempo tested inside the index [deferrable]';
COMMENT ON INDEX midi.idx_files_key_bpm IS
    'serves: text + BPM + key; filters: BPM + key + manufacturer; count, BPM + key; facets, BPM + key; filters: BPM + key + manufacturer / sort bpm -- key equality and a tempo range in (bpm, id) order; their facets counted from the index alone [deferrable]';
COMMENT ON INDEX midi.idx_files_key_duration IS
    'serves: filters: BPM + key + manufacturer / sort duration -- one key''s files in (duration, id) order, the tempo tested in the index [deferrable]';
COMMENT ON INDEX midi.idx_files_bpm IS
    'serves: facets, BPM + key; midi.search sort=bpm -- tempo ranges and the bpm order [deferrable]';
COMMENT ON INDEX midi.idx_files_manufacturer_newest IS
    'serves: midi.search manufacturer=$maker; filters: BPM + key + manufacturer -- a manufacturer''s files newest first [deferrable]';
COMMENT ON INDEX midi.idx_files_name IS
    'serves: midi.search sort=name -- the file-name order (filename, id keyset) [deferrable]';
COMMENT ON INDEX midi.idx_files_collection IS
    'serves: midi.search collection=$collection -- a collection''s files (a collection is small: its rows are sorted after the scan) [deferrable]';
COMMENT ON INDEX midi.idx_files_duration_id IS
    'serves: newest page / sort duration -- (duration, id) order, and the files of unknown duration by id [deferrable]';

COMMENT ON INDEX midi.search_word_sample_pkey IS
    'serves: primary key search_word_sample -- one row: the scale of the word estimates (the strategy of a text query reads it)';
COMMENT ON INDEX midi.track_splits_part_key IS
    'serves: unique track_splits.parent_file_id,track_number,channel; foreign key track_splits.parent_file_id -- one row per part of a song (midi.split_register''s ON CONFLICT); the parts of a song';
COMMENT ON INDEX midi.idx_track_splits_split IS
    'serves: foreign key track_splits.split_file_id -- which song a part belongs to (midi.catalog''s track_number)';
COMMENT ON INDEX midi.track_splits_pkey IS
    'serves: primary key track_splits -- the row''s identity (parts are found by their parent or their file)';
COMMENT ON INDEX midi.file_paths_pkey IS
    'serves: primary key file_paths -- the row''s identity (no call reads a path by its id)';
COMMENT ON INDEX midi.file_paths_path_key IS
    'serves: midi.import_merge; midi.import_finish -- one row per location: the import''s ON CONFLICT on file_paths; the prune of the paths under a root (a range of path_head)';
COMMENT ON INDEX midi.idx_file_paths_file IS
    'serves: file details; midi.duplicates_of file_id=$id; midi.analysis_claim; foreign key file_paths.file_id -- the paths of a file';
COMMENT ON INDEX midi.import_errors_pkey IS
    'serves: primary key import_errors -- the row''s identity (no call reads an error by its id)';
COMMENT ON INDEX midi.import_errors_path_key IS
    'serves: midi.import_merge; midi.import_finish -- one error row per location: the import''s ON CONFLICT, its removal of errors a path no longer has, the prune of stale errors under a root';
COMMENT ON INDEX midi.idx_import_errors_batch IS
    'serves: foreign key import_errors.batch_id -- the ON DELETE CASCADE of a deleted import batch';
COMMENT ON INDEX midi.import_batches_pkey IS
    'serves: midi.import_finish -- a batch by its id (every chunk''s counts, closing it)';

COMMENT ON INDEX midi.musical_metadata_pkey IS
    'serves: file details; file_details; search_primary; foreign key musical_metadata.file_id -- a file''s facts';
COMMENT ON INDEX midi.file_categories_pkey IS
    'serves: file details; file_details; foreign key file_categories.file_id -- a file''s categories';
COMMENT ON INDEX midi.file_instruments_part_key IS
    'serves: file details; foreign key file_instruments.file_id -- one row per part (channel, program, drum flag; unknowns equal): a file''s instruments';
COMMENT ON INDEX midi.file_tags_pkey IS
    'serves: tag_count_before; tag_count_after; midi.tag_list file_id=$id; foreign key file_tags.file_id -- a file''s user tags';
COMMENT ON INDEX midi.idx_file_tags_tag IS
    'serves: foreign key file_tags.tag_id -- the ON DELETE CASCADE of a deleted tag';
COMMENT ON INDEX midi.analysis_errors_pkey IS
    'serves: foreign key analysis_errors.file_id -- a file''s analysis error';
COMMENT ON INDEX midi.analysis_retries_pkey IS
    'serves: midi.analysis_claim; foreign key analysis_retries.file_id -- a file''s transient failures';
COMMENT ON INDEX midi.idx_import_staging_chunk IS
    'serves: midi.import_merge -- the rows of one staged chunk';
COMMENT ON INDEX midi.idx_analysis_staging_batch IS
    'serves: midi.analysis_apply -- the rows of one staged batch';

COMMENT ON INDEX midi.tags_pkey IS
    'serves: file details; facets, BPM + key -- a tag''s name by its id';
COMMENT ON INDEX midi.tags_name_key IS
    'serves: unique tags.name -- one tag per name';
COMMENT ON INDEX midi.favorites_pkey IS
    'serves: text, rare word; newest page; file details -- whether each returned file is a favorite (a probe per row)';
COMMENT ON INDEX midi.ratings_pkey IS
    'serves: file details; foreign key ratings.file_id -- a file''s rating';
COMMENT ON INDEX midi.saved_searches_pkey IS
    'serves: primary key saved_searches -- the row''s identity';
COMMENT ON INDEX midi.saved_searches_name_key IS
    'serves: unique saved_searches.name -- one saved search per name';
COMMENT ON INDEX midi.vocabulary_pkey IS
    'serves: primary key vocabulary -- one label per word and kind';
COMMENT ON INDEX midi.category_words_pkey IS
    'serves: primary key category_words -- one weight per word';
COMMENT ON INDEX midi.gm_instruments_pkey IS
    'serves: primary key gm_instruments -- one name and category per General MIDI program';
COMMENT ON INDEX midi.key_profiles_pkey IS
    'serves: primary key key_profiles -- a profile by its name (the referenced key of key_templates.profile)';
COMMENT ON INDEX midi.key_profiles_one_default IS
    'serves: midi.default_key_profile -- at most one default profile, and its lookup';
COMMENT ON INDEX midi.key_templates_pkey IS
    'serves: midi.estimate_key histogram={1,0,1,0,1,1,0,1,0,1,0,1}; foreign key key_templates.profile -- the 24 templates of a profile';
COMMENT ON INDEX midi.deferred_indexes_pkey IS
    'serves: primary key deferred_indexes -- one row per dropped index';

COMMENT ON INDEX midi.library_stats_key IS
    'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.manufacturer_counts_key IS
    'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.collection_counts_key IS
    'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.key_counts_key IS
    'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.category_counts_key IS
    'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.bpm_bucket_counts_key IS
    'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.tag_counts_key IS
    'serves: facets, no filter; midi.refresh_views -- the unfiltered tag counts joined to the tag names; REFRESH ... CONCURRENTLY needs a unique index';
