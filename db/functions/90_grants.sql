-- Roles and grants. midi_reader may only read and call the read API; midi_writer may also import and
-- analyze. Roles are cluster-wide, so they are created only when missing.

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
GRANT USAGE ON SCHEMA midi TO midi_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA midi TO midi_reader;
REVOKE ALL ON FUNCTION midi._touch_updated_at(), midi._files_search_vector() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION midi.name_words(text), midi.file_search_vector(text, text, text, text[]),
    midi.name_vector(text), midi.place_vector(text, text, text[]) TO midi_reader;

GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA midi TO midi_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA midi TO midi_writer;

-- Search and library API (40-46, 50_library). Functions are executable by PUBLIC unless
-- revoked, so each is revoked first and granted to the role that may call it: readers get the read API
-- (and the internal helpers it calls with the caller's rights), writers also the writes.
REVOKE ALL ON FUNCTION
    midi.key_pitch_class(midi.musical_key), midi.key_is_minor(midi.musical_key), midi._key_of(integer, boolean),
    midi.relative_key(midi.musical_key), midi.fifths_neighbours(midi.musical_key), midi.compatible_keys(midi.musical_key),
    midi.half_double_tempo(numeric), midi.tempo_ranges(numeric, numeric, boolean), midi.parse_query(text),
    midi.name_tsvector(text), midi._in_name(tsvector, tsquery), midi._outside_name(tsvector, tsquery),
    midi._tsquery_in(tsquery, text), midi._trgm_schema(), midi._search_args(midi.search_filters, text, text),
    midi._search_sort(midi._search_args, text), midi._search_where(midi._search_args, text),
    midi._search_sql(midi._search_args, text, boolean), midi._search(midi._search_args, text, integer),
    midi._estimate_rows(text, midi._search_args), midi._search_ranked(midi._search_args, text),
    midi.search(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean, boolean,
                integer, boolean, text, integer, text),
    midi.explain_search(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                        midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean, boolean,
                        integer, boolean, text, integer, text),
    midi._search_count(midi._search_args, integer),
    midi.search_count(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                      midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean, boolean,
                      integer, boolean, integer),
    midi._has_filter(midi._search_args), midi._facet_sql(text[], text, boolean), midi._facet_query(midi._search_args, text[], text, integer),
    midi._facets_from_views(text[], integer), midi._facets(midi._search_args, integer),
    midi.facets(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean, boolean,
                integer, boolean, integer),
    midi.file_essential(bigint), midi.file_for_analysis(bigint[]), midi.load_tracks(bigint[]), midi.file_details(bigint),
    midi.duplicates_of(bigint), midi.file_extras_vector(bigint), midi.tag_list(bigint),
    midi.saved_search_run(text, integer, text), midi.saved_search_list(),
    midi.sync_files(bigint[]), midi._sync_deferred(), midi._sync_from_children(), midi._sync_from_tags(),
    midi._files_cached_from_name(), midi.refresh_views(), midi._require_file(bigint),
    midi.favorite_add(bigint), midi.favorite_remove(bigint), midi.favorite_toggle(bigint), midi.rate(bigint, integer),
    midi._tag_name(text), midi.tag(bigint, text[]), midi.untag(bigint, text[]), midi.tag_rename(text, text),
    midi.tag_merge(text[], text), midi.saved_search_save(text, jsonb), midi.saved_search_delete(text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    midi.key_pitch_class(midi.musical_key), midi.key_is_minor(midi.musical_key), midi._key_of(integer, boolean),
    midi.relative_key(midi.musical_key), midi.fifths_neighbours(midi.musical_key), midi.compatible_keys(midi.musical_key),
    midi.half_double_tempo(numeric), midi.tempo_ranges(numeric, numeric, boolean), midi.parse_query(text),
    midi.name_tsvector(text), midi._in_name(tsvector, tsquery), midi._outside_name(tsvector, tsquery),
    midi._tsquery_in(tsquery, text), midi._trgm_schema(), midi._search_args(midi.search_filters, text, text),
    midi._search_sort(midi._search_args, text), midi._search_where(midi._search_args, text),
    midi._search_sql(midi._search_args, text, boolean), midi._search(midi._search_args, text, integer),
    midi._estimate_rows(text, midi._search_args), midi._search_ranked(midi._search_args, text),
    midi.search(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean, boolean,
                integer, boolean, text, integer, text),
    midi.explain_search(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                        midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean, boolean,
                        integer, boolean, text, integer, text),
    midi._search_count(midi._search_args, integer),
    midi.search_count(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                      midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean, boolean,
                      integer, boolean, integer),
    midi._has_filter(midi._search_args), midi._facet_sql(text[], text, boolean), midi._facet_query(midi._search_args, text[], text, integer),
    midi._facets_from_views(text[], integer), midi._facets(midi._search_args, integer),
    midi.facets(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean, boolean,
                integer, boolean, integer),
    midi.file_essential(bigint), midi.file_for_analysis(bigint[]), midi.load_tracks(bigint[]), midi.file_details(bigint),
    midi.duplicates_of(bigint), midi.file_extras_vector(bigint), midi.tag_list(bigint),
    midi.saved_search_run(text, integer, text), midi.saved_search_list()
TO midi_reader;
GRANT EXECUTE ON FUNCTION
    midi.sync_files(bigint[]), midi._sync_deferred(), midi.refresh_views(), midi._require_file(bigint),
    midi.favorite_add(bigint), midi.favorite_remove(bigint), midi.favorite_toggle(bigint), midi.rate(bigint, integer),
    midi._tag_name(text), midi.tag(bigint, text[]), midi.untag(bigint, text[]), midi.tag_rename(text, text),
    midi.tag_merge(text[], text), midi.saved_search_save(text, jsonb), midi.saved_search_delete(text)
TO midi_writer;

-- Analysis API (15_keys, 30_labels, 31_analysis). Readers may estimate keys and read the derived labels; writers analyze.
REVOKE ALL ON FUNCTION
    midi._rebuild_key_templates(), midi._key_profiles_changed(), midi._dot12(float8[], float8[]),
    midi._centred_norm12(float8[]), midi.default_key_profile(), midi.estimate_key(float8[], text),
    midi.choose_key(midi.musical_key, midi.musical_key, midi.musical_key), midi.key_words(midi.musical_key),
    midi.bpm_bucket(numeric), midi._category_tokens(text, text), midi.derive_categories(bigint[]),
    midi._apply_categories(bigint[]), midi.derive_tags(bigint[]), midi._apply_tags(bigint[]), midi.relabel(bigint[]),
    midi.analysis_next_batch(), midi.analysis_needed(timestamptz, integer, integer, timestamptz),
    midi.analysis_pending(integer, timestamptz), midi.analysis_claim(bigint, integer, integer, timestamptz),
    midi._analysis_staged(bigint), midi.analysis_apply(bigint, integer), midi.analysis_finish(),
    midi.redetect_keys(text), midi.analysis_transient(text), midi.analysis_max_attempts(),
    midi._analysis_refusal(midi.analysis_staging, text[]), midi._analysis_write_isolated(bigint, integer, bigint[], timestamptz),
    midi._analysis_write(bigint, integer, bigint[], timestamptz)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    midi._dot12(float8[], float8[]), midi._centred_norm12(float8[]), midi.default_key_profile(),
    midi.estimate_key(float8[], text), midi.choose_key(midi.musical_key, midi.musical_key, midi.musical_key),
    midi.key_words(midi.musical_key), midi.bpm_bucket(numeric), midi._category_tokens(text, text),
    midi.derive_categories(bigint[]), midi.derive_tags(bigint[]),
    midi.analysis_needed(timestamptz, integer, integer, timestamptz), midi.analysis_pending(integer, timestamptz),
    midi.analysis_transient(text), midi.analysis_max_attempts()
TO midi_reader;
GRANT EXECUTE ON FUNCTION
    midi._rebuild_key_templates(), midi._key_profiles_changed(), midi._apply_categories(bigint[]),
    midi._apply_tags(bigint[]), midi.relabel(bigint[]), midi.analysis_next_batch(),
    midi.analysis_claim(bigint, integer, integer, timestamptz), midi._analysis_staged(bigint),
    midi.analysis_apply(bigint, integer), midi.analysis_finish(), midi.redetect_keys(text),
    midi._analysis_refusal(midi.analysis_staging, text[]), midi._analysis_write_isolated(bigint, integer, bigint[], timestamptz),
    midi._analysis_write(bigint, integer, bigint[], timestamptz)
TO midi_writer;
