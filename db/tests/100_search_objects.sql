-- Migration 0006 creates the search objects: pg_trgm, tag ids on files, the search indexes (each a key
-- PostgreSQL accepts), ratings and saved searches with their checks, the search types, and the
-- materialized views with the unique indexes REFRESH ... CONCURRENTLY needs.
BEGIN;
SELECT plan(37);

SELECT ok(EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'), 'pg_trgm is installed');
SELECT col_type_is('midi', 'files', 'tag_ids', 'bigint[]', 'files.tag_ids is bigint[]');
SELECT col_not_null('midi', 'files', 'tag_ids', 'files.tag_ids is NOT NULL');

SELECT has_index('midi', 'files', 'idx_files_newest', ARRAY['created_at', 'id'], 'newest-first index');
SELECT has_index('midi', 'files', 'idx_files_key_newest', ARRAY['cached_key', 'created_at', 'id', 'cached_bpm'], 'key, newest-first index');
SELECT has_index('midi', 'files', 'idx_files_key_bpm',
                 ARRAY['cached_key', 'cached_bpm', 'id', 'cached_category', 'manufacturer', 'collection_name', 'tag_ids'],
                 'key + bpm composite in (bpm, id) order (migration 0012), covering the facet columns');
SELECT has_index('midi', 'files', 'idx_files_bpm', ARRAY['cached_bpm', 'id', 'cached_key', 'cached_category'],
                 'bpm index, covering key and category');
SELECT has_index('midi', 'files', 'idx_files_manufacturer_newest', ARRAY['manufacturer', 'created_at', 'id'], 'manufacturer listing index');
SELECT has_index('midi', 'files', 'idx_files_name', ARRAY['filename', 'id'], 'name-order index');
SELECT index_is_type('midi', 'files', 'idx_files_tag_ids', 'gin', 'tag ids are GIN-indexed');
SELECT index_is_type('midi', 'files', 'idx_files_filename_trgm', 'gin', 'file names have a trigram GIN index');
SELECT is((SELECT count(*)::integer FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relnamespace = 'midi'::regnamespace AND c.relname LIKE 'idx_files_%' AND NOT i.indisvalid),
          0, 'every files index is valid');

SELECT has_table('midi', 'ratings', 'ratings table');
SELECT col_is_pk('midi', 'ratings', 'file_id', 'one rating per file');
SELECT throws_ok($$INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes)
                  VALUES (1, 'a.mid', '/a.mid', sha256('a'), 1);
                  INSERT INTO midi.ratings (file_id, rating) VALUES (1, 6)$$, '23514', NULL, 'a rating is 1..5');
SELECT has_table('midi', 'saved_searches', 'saved_searches table');
SELECT col_is_unique('midi', 'saved_searches', 'name', 'saved search names are unique');
SELECT throws_ok($$INSERT INTO midi.saved_searches (name, filters) VALUES ('x', '[1]')$$, '23514', NULL,
                 'saved filters are a JSON object');
SELECT throws_ok($$INSERT INTO midi.saved_searches (name) VALUES (' x')$$, '23514', NULL, 'saved names are trimmed');

SELECT has_type('midi', 'search_filters', 'type search_filters');
SELECT has_type('midi', 'search_hit', 'type search_hit');
SELECT has_type('midi', '_search_args', 'type _search_args');
SELECT is(ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = 'midi.search_hit'::regclass AND a.attnum > 0
                 ORDER BY a.attnum),
          ARRAY['id', 'filename', 'filepath', 'manufacturer', 'collection', 'bpm', 'key', 'category', 'duration',
                'is_favorite', 'rank', 'cursor'], 'the search projection');

SELECT has_materialized_view('midi', 'library_stats', 'library_stats view');
SELECT has_materialized_view('midi', 'manufacturer_counts', 'manufacturer_counts view');
SELECT has_materialized_view('midi', 'collection_counts', 'collection_counts view');
SELECT has_materialized_view('midi', 'key_counts', 'key_counts view');
SELECT has_materialized_view('midi', 'category_counts', 'category_counts view');
SELECT has_materialized_view('midi', 'bpm_bucket_counts', 'bpm_bucket_counts view');
SELECT has_materialized_view('midi', 'tag_counts', 'tag_counts view');
SELECT is((SELECT count(*)::integer FROM pg_class m
            WHERE m.relnamespace = 'midi'::regnamespace AND m.relkind = 'm'
              AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = m.oid AND i.indisunique AND i.indpred IS NULL
                             AND i.indexprs IS NULL)),
          7, 'every materialized view has a plain unique index (REFRESH CONCURRENTLY needs one)');
INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes) VALUES (1, 'a.mid', '/a.mid', sha256('a'), 1);
SELECT lives_ok('SELECT midi.refresh_views()', 'refresh_views refreshes them concurrently');
SELECT is(midi.refresh_views(), 7, 'refresh_views reports seven views');
SELECT is((SELECT files FROM midi.library_stats), 1::bigint, 'library_stats counts the files');

SELECT function_returns('midi', 'search', 'setof midi.search_hit', 'midi.search returns search_hit rows');
SELECT is((SELECT count(*)::integer FROM pg_proc p WHERE p.pronamespace = 'midi'::regnamespace
            AND p.proname IN ('search', 'search_count', 'facets', 'explain_search')
            AND p.proargnames[1:20] = ARRAY['q', 'bpm_min', 'bpm_max', 'bpm_halfdouble', 'keys', 'compatible_key',
                'manufacturer', 'collection', 'categories', 'tags_all', 'tags_any', 'time_signature', 'duration_min',
                'duration_max', 'notes_min', 'notes_max', 'percussive', 'favorites_only', 'min_rating', 'fuzzy']),
          4, 'search, search_count, facets and explain_search take the same named filters');
SELECT is(ARRAY(SELECT p.proname::text FROM pg_proc p
                  WHERE p.pronamespace = 'midi'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
                    AND p.proname = ANY (ARRAY['key_pitch_class', 'key_is_minor', 'key_name', 'relative_key',
                        'fifths_neighbours', 'compatible_keys', 'half_double_tempo', 'tempo_ranges', 'parse_query',
                        '_tsquery_in', '_outside_name', '_text_rows', '_search_words_refresh', '_filter_rows', '_estimate_matches', 'name_tsvector', '_trgm_schema', '_search_args', '_clip_query', '_estimate_rows', '_estimate_text_rows', '_search_sort', '_search_where',
                        '_search_sql', '_search_plan', '_search', 'search', 'explain_search', '_search_count',
                        'search_count', '_has_filter', '_facet_sql', '_facet_query', '_facets_from_views', '_facets', 'facets', 'file_essential',
                        'file_for_analysis', 'load_tracks', 'file_details', 'duplicates_of', 'refresh_views',
                        '_search_columns', 'sync_files', '_sync_deferred', '_sync_from_children', '_sync_from_tags',
                        '_files_cached_from_name', '_require_file', 'favorite_add', 'favorite_remove',
                        'favorite_toggle', 'rate', '_tag_name', 'tag', 'untag', 'tag_rename', 'tag_merge', 'tag_list',
                        'saved_search_save', 'saved_search_run', 'saved_search_list', 'saved_search_delete'])),
          '{}'::text[], 'every search and library function has a COMMENT');
SELECT * FROM finish();
ROLLBACK;
