-- The public search API: midi.search (one page, keyset cursors), midi.explain_search and
-- midi.search_count, all over one filter set (midi.search_filters) resolved by midi._search_args.

/* search: one page of files matching every given filter, in the asked order, with a keyset cursor per
   row (pass the last row's cursor as after => for the next page; no OFFSET).
     q               web-search text: words, "phrase", -not, or; last word is a prefix; never errors
     fuzzy           match q against file names by trigram word similarity instead (typos)
     bpm_min/max     tempo range; bpm_halfdouble also matches half and double tempo
     keys            any of these keys; compatible_key adds the keys that mix with it
     manufacturer, collection, categories, tags_any   any of the values; tags_all   all of them
     time_signature ('6/8'), duration_min/max (s), notes_min/max, percussive, favorites_only, min_rating
     sort            relevance (default with q: file-name matches first, then newest), newest (default
                     without q), bpm, name, duration
     lim             page size, default 50, at most 500
   rank is computed only when q is given: 1.0 when the file name holds every word, 0.5 when the words
   are found elsewhere (manufacturer, collection, folders, tags, category, instruments); with fuzzy the
   trigram word similarity. */
CREATE OR REPLACE FUNCTION midi.search(
    q text DEFAULT NULL,
    bpm_min numeric DEFAULT NULL,
    bpm_max numeric DEFAULT NULL,
    bpm_halfdouble boolean DEFAULT false,
    keys midi.musical_key[] DEFAULT NULL,
    compatible_key midi.musical_key DEFAULT NULL,
    manufacturer text[] DEFAULT NULL,
    collection text[] DEFAULT NULL,
    categories midi.file_category[] DEFAULT NULL,
    tags_all text[] DEFAULT NULL,
    tags_any text[] DEFAULT NULL,
    time_signature text DEFAULT NULL,
    duration_min numeric DEFAULT NULL,
    duration_max numeric DEFAULT NULL,
    notes_min integer DEFAULT NULL,
    notes_max integer DEFAULT NULL,
    percussive boolean DEFAULT NULL,
    favorites_only boolean DEFAULT false,
    min_rating integer DEFAULT NULL,
    fuzzy boolean DEFAULT false,
    sort text DEFAULT NULL,
    lim integer DEFAULT 50,
    after text DEFAULT NULL
) RETURNS SETOF midi.search_hit
LANGUAGE sql VOLATILE AS $$  -- VOLATILE: plans with EXPLAIN estimates; reads only
    SELECT * FROM midi._search(
        midi._search_args(ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection,
                              categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min,
                              notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters,
                          sort, after),
        sort, lim)
$$;
COMMENT ON FUNCTION midi.search(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                                midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean,
                                boolean, integer, boolean, text, integer, text) IS
    'One page of matching files (id, filename, filepath, manufacturer, collection, bpm, key, category, duration, is_favorite, rank, cursor); keyset paging with after => cursor';

/* explain_search: the plans of the queries midi.search runs for the same arguments (one block per
   segment, "-- segment N" first), to see which index serves a shape. */
CREATE OR REPLACE FUNCTION midi.explain_search(
    q text DEFAULT NULL,
    bpm_min numeric DEFAULT NULL,
    bpm_max numeric DEFAULT NULL,
    bpm_halfdouble boolean DEFAULT false,
    keys midi.musical_key[] DEFAULT NULL,
    compatible_key midi.musical_key DEFAULT NULL,
    manufacturer text[] DEFAULT NULL,
    collection text[] DEFAULT NULL,
    categories midi.file_category[] DEFAULT NULL,
    tags_all text[] DEFAULT NULL,
    tags_any text[] DEFAULT NULL,
    time_signature text DEFAULT NULL,
    duration_min numeric DEFAULT NULL,
    duration_max numeric DEFAULT NULL,
    notes_min integer DEFAULT NULL,
    notes_max integer DEFAULT NULL,
    percussive boolean DEFAULT NULL,
    favorites_only boolean DEFAULT false,
    min_rating integer DEFAULT NULL,
    fuzzy boolean DEFAULT false,
    sort text DEFAULT NULL,
    lim integer DEFAULT 50,
    after text DEFAULT NULL
) RETURNS SETOF text
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: STABLE code may not run EXPLAIN
DECLARE
    a midi._search_args := midi._search_args(
        ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection, categories, tags_all,
            tags_any, time_signature, duration_min, duration_max, notes_min, notes_max, percussive, favorites_only,
            min_rating, fuzzy)::midi.search_filters, sort, after);
    sql text[] := midi._search_sql(a, sort, midi._search_ranked(a, sort));
BEGIN
    FOR i IN 1 .. cardinality(sql) LOOP
        RETURN NEXT CASE WHEN cardinality(sql) = 1 AND midi._search_ranked(a, sort) THEN '-- ranked'
                         ELSE '-- segment ' || (coalesce(a.cur_seg, 1) + i - 1) END;
        RETURN QUERY EXECUTE 'EXPLAIN ' || sql[i] USING a, least(coalesce(lim, 50), 500);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi.explain_search(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                                        midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean,
                                        boolean, integer, boolean, text, integer, text) IS
    'EXPLAIN of the queries midi.search runs for the same arguments, one block per segment';

/* _search_count: exact count up to cap, else the planner's estimate (never below cap + 1), flagged. cap
   is bounded: above 100,000 it counts as 100,000, so no caller can ask for an unbounded exact count (an
   exact count reads every match it counts). */
CREATE OR REPLACE FUNCTION midi._search_count(a midi._search_args, cap integer)
RETURNS TABLE (files bigint, exact boolean)
LANGUAGE plpgsql VOLATILE  -- VOLATILE: the estimate comes from EXPLAIN, which STABLE code may not run
SET jit = off AS $$  -- compiling a count of a few thousand rows costs more than it saves
DECLARE
    w text := midi._search_where(a);
    n bigint;
    plan json;
BEGIN
    IF cap IS NULL OR cap < 0 THEN
        RAISE EXCEPTION 'cap must be 0 or more, not %', cap USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cap := least(cap, 100000);
    EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM midi.files f WHERE ' || w || ' LIMIT $2) s' INTO n USING a, cap + 1;
    IF n <= cap THEN
        RETURN QUERY SELECT n, true;
        RETURN;
    END IF;
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM midi.files f WHERE ' || w INTO plan USING a;
    RETURN QUERY SELECT greatest((plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint, cap + 1::bigint), false;
END;
$$;
COMMENT ON FUNCTION midi._search_count(midi._search_args, integer) IS
    'Internal: exact match count up to cap, else a planner estimate flagged exact = false';

/* search_count: how many files match the filters (same arguments as midi.search): exact up to cap
   (default 5000: a broad word's exact count up to there reads about 30,000 rows), beyond that the
   planner's estimate with exact = false, so a count never scans a million matches. cap => 0 gives the
   estimate alone (or an exact 0 when nothing matches); a cap above 100,000 counts as 100,000. */
CREATE OR REPLACE FUNCTION midi.search_count(
    q text DEFAULT NULL,
    bpm_min numeric DEFAULT NULL,
    bpm_max numeric DEFAULT NULL,
    bpm_halfdouble boolean DEFAULT false,
    keys midi.musical_key[] DEFAULT NULL,
    compatible_key midi.musical_key DEFAULT NULL,
    manufacturer text[] DEFAULT NULL,
    collection text[] DEFAULT NULL,
    categories midi.file_category[] DEFAULT NULL,
    tags_all text[] DEFAULT NULL,
    tags_any text[] DEFAULT NULL,
    time_signature text DEFAULT NULL,
    duration_min numeric DEFAULT NULL,
    duration_max numeric DEFAULT NULL,
    notes_min integer DEFAULT NULL,
    notes_max integer DEFAULT NULL,
    percussive boolean DEFAULT NULL,
    favorites_only boolean DEFAULT false,
    min_rating integer DEFAULT NULL,
    fuzzy boolean DEFAULT false,
    cap integer DEFAULT 5000
) RETURNS TABLE (files bigint, exact boolean)
LANGUAGE sql VOLATILE AS $$
    SELECT * FROM midi._search_count(
        midi._search_args(ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection,
                              categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min,
                              notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters),
        cap)
$$;
COMMENT ON FUNCTION midi.search_count(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                                      midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean,
                                      boolean, integer, boolean, integer) IS
    'Number of matching files: exact up to cap (default 5000), else a planner estimate with exact = false';
