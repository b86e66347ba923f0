-- Every function of schema midi, with the roles that may execute it: 'reader' (midi_reader, and so
-- midi_writer, its member), 'writer' (midi_writer only) or 'none' (the owner only). The test fails on a
-- function missing from the list (a new function must be placed: ungranted or over-granted, it cannot
-- slip through), on a listed function that does not exist, and on any privilege that differs from the
-- list. PUBLIC executes nothing, and functions created later are not executable by PUBLIC either.
-- No function a role may execute takes SQL text, and SQL-looking arguments are never executed.
BEGIN;
SELECT plan(18);

CREATE TEMP TABLE expected (sig text PRIMARY KEY, who text NOT NULL CHECK (who IN ('reader', 'writer', 'none')));
INSERT INTO expected VALUES
    -- the read API and the helpers it calls with the reader's rights
    ('midi.set_limit(real)', 'reader'),
    ('midi.show_limit()', 'reader'),
    ('midi.show_trgm(text)', 'reader'),
    ('midi.similarity(text,text)', 'reader'),
    ('midi.similarity_op(text,text)', 'reader'),
    ('midi.word_similarity(text,text)', 'reader'),
    ('midi.word_similarity_op(text,text)', 'reader'),
    ('midi.word_similarity_commutator_op(text,text)', 'reader'),
    ('midi.similarity_dist(text,text)', 'reader'),
    ('midi.word_similarity_dist_op(text,text)', 'reader'),
    ('midi.word_similarity_dist_commutator_op(text,text)', 'reader'),
    ('midi.strict_word_similarity(text,text)', 'reader'),
    ('midi.strict_word_similarity_op(text,text)', 'reader'),
    ('midi.strict_word_similarity_commutator_op(text,text)', 'reader'),
    ('midi.strict_word_similarity_dist_op(text,text)', 'reader'),
    ('midi.strict_word_similarity_dist_commutator_op(text,text)', 'reader'),
    ('midi.name_tsvector(text)', 'reader'),
    ('midi.bulk_lock_key()', 'reader'),
    ('midi.deferrable_indexes()', 'reader'),
    ('midi.name_words(text)', 'reader'),
    ('midi.name_vector(text)', 'reader'),
    ('midi.place_vector(text,text,text[])', 'reader'),
    ('midi.file_search_vector(text,text,text,text[])', 'reader'),
    ('midi.key_name(integer,boolean)', 'reader'),
    ('midi.key_pitch_class(midi.musical_key)', 'reader'),
    ('midi.key_is_minor(midi.musical_key)', 'reader'),
    ('midi.relative_key(midi.musical_key)', 'reader'),
    ('midi.fifths_neighbours(midi.musical_key)', 'reader'),
    ('midi.compatible_keys(midi.musical_key)', 'reader'),
    ('midi._dot12(double precision[],double precision[])', 'reader'),
    ('midi._centred_norm12(double precision[])', 'reader'),
    ('midi.default_key_profile()', 'reader'),
    ('midi.estimate_key(double precision[],text)', 'reader'),
    ('midi.choose_key(midi.musical_key,midi.musical_key,midi.musical_key)', 'reader'),
    ('midi.key_words(midi.musical_key)', 'reader'),
    ('midi.half_double_tempo(numeric)', 'reader'),
    ('midi.tempo_ranges(numeric,numeric,boolean)', 'reader'),
    ('midi.bpm_bucket(numeric)', 'reader'),
    ('midi.vocabulary_map()', 'reader'),
    ('midi.vocabulary_phrases()', 'reader'),
    ('midi.filename_facts(text,jsonb,text)', 'reader'),
    ('midi.parse_filename(text)', 'reader'),
    ('midi.parse_folder(text)', 'reader'),
    ('midi.parse_path(text)', 'reader'),
    ('midi.short_label(text)', 'reader'),
    ('midi._cut_label(text)', 'reader'),
    ('midi.path_head(text)', 'reader'),
    ('midi.path_digest(text,bytea)', 'reader'),
    ('midi._category_tokens(text,text)', 'reader'),
    ('midi.derive_categories(bigint[])', 'reader'),
    ('midi.derive_tags(bigint[])', 'reader'),
    ('midi.analysis_needed(timestamp with time zone,integer,integer,timestamp with time zone)', 'reader'),
    ('midi.analysis_pending(integer,timestamp with time zone)', 'reader'),
    ('midi.analysis_transient(text)', 'reader'),
    ('midi.analysis_max_attempts()', 'reader'),
    ('midi.parse_query(text)', 'reader'),
    ('midi._tsquery_in(tsquery,text)', 'reader'),
    ('midi._outside_name(tsvector,tsquery)', 'reader'),
    ('midi._text_rows(tsquery)', 'reader'),
    ('midi._trgm_schema()', 'reader'),
    ('midi._search_args(midi.search_filters,text,text)', 'reader'),
    ('midi._filters(jsonb,midi.search_filters,text[])', 'reader'),
    ('midi._search_sort(midi._search_args,text)', 'reader'),
    ('midi._search_where(midi._search_args,text)', 'reader'),
    ('midi._search_sql(midi._search_args,text,boolean)', 'reader'),
    ('midi._filter_rows(midi._search_args,text)', 'reader'),
    ('midi._estimate_matches(midi._search_args,text)', 'reader'),
    ('midi._search_plan(midi._search_args,text,integer)', 'reader'),
    ('midi._search(midi._search_args,text,integer)', 'reader'),
    ('midi._search_count(midi._search_args,integer)', 'reader'),
    ('midi._has_filter(midi._search_args)', 'reader'),
    ('midi._facet_query(midi._search_args,text[],text,integer)', 'reader'),
    ('midi._facets_from_views(text[],integer)', 'reader'),
    ('midi._facets(midi._search_args,integer)', 'reader'),
    ('midi.file_essential(bigint)', 'reader'),
    ('midi.file_for_analysis(bigint[])', 'reader'),
    ('midi.load_tracks(bigint[])', 'reader'),
    ('midi.file_details(bigint)', 'reader'),
    ('midi.duplicates_of(bigint)', 'reader'),
    ('midi.file_sources(bigint)', 'reader'),
    ('midi.tag_list(bigint)', 'reader'),
    ('midi.saved_search_run(text,integer,text)', 'reader'),
    ('midi.saved_search_list()', 'reader'),
    ('midi._clip_query(text)', 'reader'),
    ('midi._estimate_rows(midi._search_args,text)', 'reader'),
    ('midi._estimate_text_rows(midi._search_args,boolean)', 'reader'),
    ('midi._facet_sql(midi._search_args,text[],text,boolean)', 'reader'),
    ('midi._export_clean(text)', 'reader'),
    ('midi._export_clip(text,integer)', 'reader'),
    ('midi.export_safe_name(text,integer)', 'reader'),
    ('midi._export_field_list()', 'reader'),
    ('midi.export_fields()', 'reader'),
    ('midi.export_template(text)', 'reader'),
    ('midi._export_join(text[],text[])', 'reader'),
    ('midi._export_ext(text)', 'reader'),
    ('midi._export_stem(text,text,bigint,text)', 'reader'),
    ('midi._export_sql(midi._search_args,text[],boolean)', 'reader'),
    ('midi._export_base(text)', 'reader'),
    ('midi._saved_filters(text)', 'reader'),
    ('midi._strategy_indexes(text[],text[],text[],text)', 'reader'),
    ('midi._import_lock(bigint)', 'reader'),
    ('midi.import_alive(bigint)', 'reader'),
    ('midi.profile_history(integer)', 'reader'),
    -- import, analysis, keeping search columns current, library writes
    ('midi._rebuild_key_templates()', 'writer'),
    ('midi.import_begin(text[],text)', 'writer'),
    ('midi._staged(bigint,integer)', 'writer'),
    ('midi.import_merge(bigint,integer)', 'writer'),
    ('midi._under_roots(text,text[])', 'writer'),
    ('midi.import_finish(bigint,bigint,boolean)', 'writer'),
    ('midi.import_refusals()', 'writer'),
    ('midi._import_refuse_sql()', 'writer'),
    ('midi._prefix_after(text)', 'writer'),
    ('midi.import_hold(bigint)', 'writer'),
    ('midi.import_mark_interrupted()', 'writer'),
    ('midi.profile_record(jsonb,text,integer,bigint,integer)', 'writer'),
    ('midi._apply_categories(bigint[])', 'writer'),
    ('midi.relabel(bigint[])', 'writer'),
    ('midi.analysis_next_batch()', 'writer'),
    ('midi.analysis_claim(bigint,integer,integer,timestamp with time zone)', 'writer'),
    ('midi._analysis_staged(bigint)', 'writer'),
    ('midi.analysis_apply(bigint,integer)', 'writer'),
    ('midi._analysis_refusal(midi.analysis_staging,text[])', 'writer'),
    ('midi._analysis_write_isolated(bigint,integer,bigint[],timestamp with time zone)', 'writer'),
    ('midi._analysis_write(bigint,integer,bigint[],timestamp with time zone)', 'writer'),
    ('midi.analysis_finish()', 'writer'),
    ('midi.redetect_keys(text)', 'writer'),
    ('midi.sync_files(bigint[])', 'writer'),
    ('midi._search_columns(bigint[],bigint[],bigint[])', 'writer'),
    ('midi._derived_tags(bigint[],bigint[])', 'writer'),
    ('midi._sync_deferred()', 'writer'),
    ('midi.refresh_views()', 'writer'),
    ('midi._require_file(bigint)', 'writer'),
    ('midi.favorite_add(bigint)', 'writer'),
    ('midi.favorite_remove(bigint)', 'writer'),
    ('midi.favorite_toggle(bigint)', 'writer'),
    ('midi.rate(bigint,integer)', 'writer'),
    ('midi._tag_name(text)', 'writer'),
    ('midi.tag(bigint,text[])', 'writer'),
    ('midi.untag(bigint,text[])', 'writer'),
    ('midi.tag_rename(text,text)', 'writer'),
    ('midi.tag_merge(text[],text)', 'writer'),
    ('midi.saved_search_save(text,jsonb)', 'writer'),
    ('midi.saved_search_delete(text)', 'writer'),
    ('midi.split_register(bigint,jsonb)', 'writer'),
    -- run by midi.refresh_views as the owner
    ('midi._search_words_refresh(boolean)', 'none'),
    -- trigger functions (PostgreSQL runs them itself), pg_trgm's index support and type I/O
    ('midi.gtrgm_in(cstring)', 'none'),
    ('midi.gtrgm_out(midi.gtrgm)', 'none'),
    ('midi.gtrgm_consistent(internal,text,smallint,oid,internal)', 'none'),
    ('midi.gtrgm_distance(internal,text,smallint,oid,internal)', 'none'),
    ('midi.gtrgm_compress(internal)', 'none'),
    ('midi.gtrgm_decompress(internal)', 'none'),
    ('midi.gtrgm_penalty(internal,internal,internal)', 'none'),
    ('midi.gtrgm_picksplit(internal,internal)', 'none'),
    ('midi.gtrgm_union(internal,internal)', 'none'),
    ('midi.gtrgm_same(midi.gtrgm,midi.gtrgm,internal)', 'none'),
    ('midi.gin_extract_value_trgm(text,internal)', 'none'),
    ('midi.gin_extract_query_trgm(text,internal,smallint,internal,internal,internal,internal)', 'none'),
    ('midi.gin_trgm_consistent(internal,smallint,text,integer,internal,internal,internal,internal)', 'none'),
    ('midi.gin_trgm_triconsistent(internal,smallint,text,integer,internal,internal,internal)', 'none'),
    ('midi.gtrgm_options(internal)', 'none'),
    ('midi.defer_indexes(text)', 'none'),
    ('midi.restore_index(text)', 'none'),
    ('midi._touch_updated_at()', 'none'),
    ('midi._files_search_vector()', 'none'),
    ('midi._key_profiles_changed()', 'none'),
    ('midi._sync_from_children()', 'none'),
    ('midi._sync_from_tags()', 'none'),
    ('midi._files_cached_from_name()', 'none');
-- the public functions that take the search filters: their argument lists are generated from the type
-- midi.search_filters (41_search_api.sql), so they are listed by name; one overload each
INSERT INTO expected SELECT p.oid::regprocedure::text, 'reader' FROM pg_proc p
 WHERE p.pronamespace = 'midi'::regnamespace AND p.proname IN ('search', 'explain_search', 'search_count', 'facets', 'export_rows', 'catalog_rows', 'search_strategy');

SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'midi'::regnamespace
                   AND p.oid NOT IN (SELECT to_regprocedure(e.sig) FROM expected e WHERE to_regprocedure(e.sig) IS NOT NULL)
                 ORDER BY 1),
          '{}'::text[], 'every function of schema midi is in the list (place a new one: reader, writer or none)');
SELECT is((SELECT count(*) FROM expected WHERE sig ~ '^midi\.(search|explain_search|search_count|facets|export_rows|catalog_rows|search_strategy)\('), 7::bigint,
          'search, explain_search, search_count, facets, export_rows, catalog_rows and search_strategy exist, one overload each');
SELECT is(ARRAY(SELECT e.sig FROM expected e WHERE to_regprocedure(e.sig) IS NULL ORDER BY 1),
          '{}'::text[], 'every function in the list exists');
SELECT is(ARRAY(SELECT e.sig FROM expected e WHERE to_regprocedure(e.sig) IS NOT NULL
                   AND has_function_privilege('midi_reader', to_regprocedure(e.sig), 'EXECUTE') <> (e.who = 'reader')
                 ORDER BY 1),
          '{}'::text[], 'midi_reader executes exactly the reader functions');
SELECT is(ARRAY(SELECT e.sig FROM expected e WHERE to_regprocedure(e.sig) IS NOT NULL
                   AND has_function_privilege('midi_writer', to_regprocedure(e.sig), 'EXECUTE') <> (e.who IN ('reader', 'writer'))
                 ORDER BY 1),
          '{}'::text[], 'midi_writer executes exactly the reader and writer functions');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'midi'::regnamespace
                   AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                                WHERE a.grantee = 0)
                 ORDER BY 1),
          '{}'::text[], 'PUBLIC executes no function of schema midi');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'midi'::regnamespace AND p.prosecdef ORDER BY 1),
          ARRAY['midi.refresh_views()'], 'the one SECURITY DEFINER function takes no input');
SELECT is(ARRAY(SELECT DISTINCT p.oid::regprocedure::text FROM pg_proc p, unnest(p.proargnames) AS n
                 WHERE p.pronamespace = 'midi'::regnamespace
                   AND has_function_privilege('midi_writer', p.oid, 'EXECUTE')
                   AND n ~* '(sql|where|clause|stmt|statement|command|expr|fragment)'
                 ORDER BY 1),
          '{}'::text[], 'no function a role may execute takes an argument named for SQL text');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'midi'::regnamespace AND p.proname IN ('_estimate_rows', '_facet_sql')
                   AND p.proargtypes[0] <> 'midi._search_args'::regtype ORDER BY 1),
          '{}'::text[], 'the helpers that took a WHERE clause as text are gone');

-- functions created after the grants (by the migrating role) are not executable by PUBLIC
CREATE FUNCTION midi.zz_created_later() RETURNS integer LANGUAGE sql AS 'SELECT 1';
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                       WHERE p.oid = 'midi.zz_created_later()'::regprocedure AND a.grantee = 0),
          'a function created later is not executable by PUBLIC (default privileges)');
SELECT ok(NOT has_function_privilege('midi_reader', 'midi.zz_created_later()', 'EXECUTE')
          AND NOT has_function_privilege('midi_writer', 'midi.zz_created_later()', 'EXECUTE'),
          'nor by the roles until it is listed');

SELECT ok((SELECT bool_and(EXISTS (SELECT 1 FROM unnest(r.rolconfig) c
                                    WHERE c LIKE 'statement\_timeout=%' AND c <> 'statement_timeout=0'))
             FROM pg_roles r WHERE r.rolname IN ('midi_reader', 'midi_writer')),
          'both roles carry a statement timeout');

-- what a reader passes is a value, never SQL: a division by zero would raise if any were planned
\ir fixtures/search_library.sql
SET LOCAL ROLE midi_reader;
CREATE TEMP TABLE probe AS
    SELECT midi._search_args(ROW('bass', NULL, NULL, false, '{Am}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                 NULL, NULL, NULL, NULL, false, NULL, false)::midi.search_filters) AS a;
SELECT lives_ok($$SELECT midi._estimate_rows((SELECT a FROM probe), 'true) OR (1/0 = 1')$$,
                'an estimate''s skip is a keyword, not SQL');
SELECT lives_ok($$SELECT * FROM midi._facet_query((SELECT a FROM probe), ARRAY['key', '1/0 = 1'], '1/0 = 1', 5)$$,
                'facet dimensions are keywords, not SQL');
SELECT lives_ok($$SELECT midi._facet_sql((SELECT a FROM probe), ARRAY['key'], '1/0 = 1') || midi._search_where((SELECT a FROM probe), '1/0 = 1')$$,
                'the SQL builders ignore words they do not know');
SELECT throws_ok($$SELECT * FROM midi.search(q => 'bass', sort => 'name, (SELECT 1/0)')$$, '22023', NULL,
                 'a sort that is not one of the five is refused, not executed');
SELECT throws_ok($$SELECT * FROM midi.search(after => '["newest", 1, "2024-01-01", 1]) OR (1/0 = 1')$$, '22023', NULL,
                 'a cursor that is not one is refused, not executed');
SELECT lives_ok($$SELECT * FROM midi.search(q => $q$') OR 1/0 = 1 --$q$, manufacturer => ARRAY[$q$x' OR 1/0 = 1 --$q$])$$,
                'quotes in values are values');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
