-- Roles and grants: least privilege by default.
--
--   PUBLIC       executes nothing in schema midi, now or later (default privileges of the migrating role)
--   midi_reader  reads every table and executes the read API: search, counts, facets, projections, the
--                key, tempo, text and label helpers, saved-search runs
--   midi_writer  everything midi_reader may (it is a member), plus import, analysis and the library
--                writes (favorites, ratings, tags, saved searches), and writes the tables
--
-- Both roles run everything with their own rights: no function in these lists is SECURITY DEFINER but
-- midi.refresh_views (which takes no input). No function takes SQL text: the search engine builds its
-- queries from fixed fragments inside midi._search_where / _search_sql / _facet_sql and the estimates;
-- what a caller passes is a value, never a piece of a statement. db/tests/114_function_privileges.sql
-- lists every function of the schema with the roles that may execute it, so a new function that is not
-- placed in one of the lists below fails the tests.
--
-- Statement timeouts are role settings (ALTER ROLE ... SET statement_timeout), 30 s for midi_reader and
-- 5 min for midi_writer: set here when the role has none of its own, or to midi.reader_timeout /
-- midi.writer_timeout when the migrating session sets them (docs/sql-api.md, "Roles and timeouts").
-- Roles are cluster-wide, so they are created only when missing.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'midi_reader') THEN
        CREATE ROLE midi_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'midi_writer') THEN
        CREATE ROLE midi_writer NOLOGIN;
    END IF;
END
$$;
GRANT midi_reader TO midi_writer;

-- Statement timeouts. An explicit midi.reader_timeout / midi.writer_timeout of the migrating session
-- (PGOPTIONS='-c midi.reader_timeout=1min', or ALTER DATABASE ... SET midi.reader_timeout) wins; else a
-- timeout the role already has is kept (the operator's ALTER ROLE, or ours from an earlier migrate);
-- else the default. The value is checked by ALTER ROLE itself (a bad one fails the migrate, saying so),
-- as is the migrating user's right to alter the roles (needed only when a timeout is to be set).
DO $$
DECLARE
    r record;
    want text;
BEGIN
    FOR r IN SELECT * FROM (VALUES ('midi_reader', 'midi.reader_timeout', '30s'),
                                   ('midi_writer', 'midi.writer_timeout', '5min')) AS v(role, knob, dflt) LOOP
        want := nullif(btrim(current_setting(r.knob, true)), '');
        IF want IS NULL AND NOT EXISTS (
               SELECT 1 FROM pg_roles p, unnest(p.rolconfig) AS c
                WHERE p.rolname = r.role AND c LIKE 'statement\_timeout=%') THEN
            want := r.dflt;
        END IF;
        CONTINUE WHEN want IS NULL;
        EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', r.role, want);
    END LOOP;
END
$$;

-- Tables: readers read everything, writers also write (import, analysis and the library functions run
-- with the caller's rights). Truncate, references and triggers stay with the owner.
GRANT USAGE ON SCHEMA midi TO midi_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA midi TO midi_reader;
GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA midi TO midi_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA midi TO midi_writer;
-- The definitions of the indexes a bulk load dropped are executed by their owner when they are built
-- again (midi.restore_index): only the owner writes them.
REVOKE INSERT, UPDATE, DELETE ON midi.deferred_indexes FROM midi_writer;

-- Functions: start from nothing. The revokes and the grants below run in the one transaction that
-- re-applies db/functions, so no caller ever sees a moment without them. Default privileges of the
-- migrating role keep a function created later (by hand, an extension update, the next release) from
-- being executable by PUBLIC until it is placed here; PostgreSQL applies them per role and database,
-- not per schema (a schema-level default cannot take away PUBLIC's EXECUTE).
REVOKE ALL ON ALL ROUTINES IN SCHEMA midi FROM PUBLIC, midi_reader, midi_writer;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON ROUTINES FROM PUBLIC;

-- The read API and every helper it calls (with the reader's rights).
GRANT EXECUTE ON FUNCTION
    -- text (10_util, 0006, 40_search_engine)
    midi.name_words(text), midi.name_vector(text), midi.place_vector(text, text, text[]),
    midi.file_search_vector(text, text, text, text[]), midi.name_tsvector(text),
    -- keys and tempo (15_keys, 16_tempo)
    midi.key_name(integer, boolean), midi.key_pitch_class(midi.musical_key), midi.key_is_minor(midi.musical_key),
    midi.relative_key(midi.musical_key), midi.fifths_neighbours(midi.musical_key),
    midi.compatible_keys(midi.musical_key), midi._dot12(float8[], float8[]), midi._centred_norm12(float8[]),
    midi.default_key_profile(), midi.estimate_key(float8[], text),
    midi.choose_key(midi.musical_key, midi.musical_key, midi.musical_key), midi.key_words(midi.musical_key),
    midi.half_double_tempo(numeric), midi.tempo_ranges(numeric, numeric, boolean), midi.bpm_bucket(numeric),
    -- bulk loads (25_bulk_load): the lock key and which indexes are search-only (catalog reads)
    midi.bulk_lock_key(), midi.deferrable_indexes(),
    -- path and file-name facts (20_import): pure functions of a path
    midi.vocabulary_map(), midi.vocabulary_phrases(), midi.filename_facts(text, jsonb, text),
    midi.parse_filename(text), midi.parse_folder(text), midi.parse_path(text),
    midi.short_label(text), midi._cut_label(text), midi.path_head(text), midi.path_digest(text, bytea),
    -- labels and analysis progress (30_labels, 31_analysis): computed, not stored
    midi._category_tokens(text, text), midi.derive_categories(bigint[]), midi.derive_tags(bigint[]),
    midi.analysis_needed(timestamptz, integer, integer, timestamptz), midi.analysis_pending(integer, timestamptz),
    midi.analysis_transient(text), midi.analysis_max_attempts(),
    -- search (37_search_text, 38_search_where, 40_search_engine, 41_search_api, 42_facets)
    midi._clip_query(text), midi.parse_query(text), midi._tsquery_in(tsquery, text),
    midi._outside_name(tsvector, tsquery), midi._trgm_schema(), midi._text_rows(tsquery),
    midi._search_args(midi.search_filters, text, text), midi._filters(jsonb, midi.search_filters, text[]),
    midi._search_sort(midi._search_args, text),
    midi._search_where(midi._search_args, text), midi._estimate_rows(midi._search_args, text),
    midi._estimate_text_rows(midi._search_args, boolean), midi._search_sql(midi._search_args, text, boolean),
    midi._filter_rows(midi._search_args, text), midi._estimate_matches(midi._search_args, text),
    midi._search_plan(midi._search_args, text, integer), midi._search(midi._search_args, text, integer),
    midi.search,
    midi.explain_search,
    midi._search_count(midi._search_args, integer),
    midi.search_count,
    midi._has_filter(midi._search_args), midi._facet_sql(midi._search_args, text[], text, boolean),
    midi._facet_query(midi._search_args, text[], text, integer), midi._facets_from_views(text[], integer),
    midi._facets(midi._search_args, integer),
    midi.facets,
    -- what a search means to read (44_search_strategy), whether an import is alive (21_import_runs),
    -- the profile's recorded history (60_profile_history)
    midi._strategy_indexes(text[], text[], text[], text), midi.search_strategy,
    midi._import_lock(bigint), midi.import_alive(bigint), midi.profile_history(integer),
    -- projections (43_projections, 45_sync)
    midi.file_essential(bigint), midi.file_for_analysis(bigint[]), midi.load_tracks(bigint[]),
    midi.file_details(bigint), midi.duplicates_of(bigint),
    -- where a file's bytes are (60_browse)
    midi.file_sources(bigint),
    -- library reads (50_library)
    midi.tag_list(bigint), midi.saved_search_run(text, integer, text), midi.saved_search_list(),
    -- export (47_export): the rows and names an export writes, the catalog rows of a search
    midi._export_clean(text), midi._export_clip(text, integer), midi.export_safe_name(text, integer),
    midi._export_field_list(), midi.export_fields(), midi.export_template(text), midi._export_join(text[], text[]),
    midi._export_ext(text), midi._export_base(text), midi._export_stem(text, text, bigint, text),
    midi._export_sql(midi._search_args, text[], boolean),
    midi._saved_filters(text),
    midi.export_rows,
    midi.catalog_rows
TO midi_reader;

-- pg_trgm, when it lives in schema midi: its SQL-callable functions (similarity, word_similarity and
-- the operators' functions) are pure and the fuzzy search needs them; its index support and type I/O
-- functions (internal, cstring and gtrgm arguments) are called by PostgreSQL itself, never by a role.
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
          JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
         WHERE e.extname = 'pg_trgm' AND d.deptype = 'e' AND p.pronamespace = 'midi'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t
                            WHERE t NOT IN ('text'::regtype, 'real'::regtype))
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO midi_reader', fn);  -- a catalog name, not input
    END LOOP;
END
$$;

-- Import, analysis and the library writes, with the internals they call (with the writer's rights).
GRANT EXECUTE ON FUNCTION
    -- import (20_import)
    midi.import_begin(text[], text), midi._staged(bigint, integer), midi.import_merge(bigint, integer),
    midi._under_roots(text, text[]), midi.import_finish(bigint, bigint, boolean),
    midi.import_refusals(), midi._import_refuse_sql(), midi._prefix_after(text),
    -- import batches alive or gone (21_import_runs)
    midi.import_hold(bigint), midi.import_mark_interrupted(),
    -- recording a profile report (60_profile_history; the report itself only reads)
    midi.profile_record(jsonb, text, integer, bigint, integer),
    -- analysis (15_keys, 30_labels, 31_analysis)
    midi._rebuild_key_templates(), midi._apply_categories(bigint[]),
    midi.relabel(bigint[]), midi.analysis_next_batch(), midi.analysis_claim(bigint, integer, integer, timestamptz),
    midi._analysis_staged(bigint), midi.analysis_apply(bigint, integer), midi.analysis_finish(),
    midi._analysis_refusal(midi.analysis_staging, text[]), midi._analysis_write_isolated(bigint, integer, bigint[], timestamptz),
    midi._analysis_write(bigint, integer, bigint[], timestamptz),
    midi.redetect_keys(text),
    -- keeping the search columns and views current (45_sync, 46_refresh_views)
    midi.sync_files(bigint[]), midi._search_columns(bigint[], bigint[], bigint[]), midi._derived_tags(bigint[], bigint[]),
    midi._sync_deferred(), midi.refresh_views(),
    -- library writes (50_library)
    midi._require_file(bigint), midi.favorite_add(bigint), midi.favorite_remove(bigint), midi.favorite_toggle(bigint),
    midi.rate(bigint, integer), midi._tag_name(text), midi.tag(bigint, text[]), midi.untag(bigint, text[]),
    midi.tag_rename(text, text), midi.tag_merge(text[], text), midi.saved_search_save(text, jsonb),
    midi.saved_search_delete(text),
    -- song parts (47_export)
    midi.split_register(bigint, jsonb)
TO midi_writer;

-- Executable by no role (only by their owner): midi._search_words_refresh(boolean), which
-- midi.refresh_views runs as the owner; the trigger functions, which PostgreSQL runs itself
-- whoever writes the row: midi._touch_updated_at(), midi._files_search_vector(),
-- midi._key_profiles_changed(), midi._sync_from_children(), midi._sync_from_tags(),
-- midi._files_cached_from_name(); and the bulk load's midi.defer_indexes(text) and
-- midi.restore_index(text): dropping and building indexes is the tables' owner's (runner/bulk.py).
