-- The public search API: midi.search (one page, keyset cursors), midi.explain_search and midi.search_count
-- (midi.facets in 42_facets.sql), all over one filter set.
--
-- The filters are declared once: the attributes of type midi.search_filters (migration 0006 owns the
-- type; a new filter is an ALTER TYPE ... ADD ATTRIBUTE in a new migration, plus its WHERE fragment in
-- midi._search_where and its row in runner/filters.py). Every function that takes filters gets them
-- from that type, twice over: as named arguments, one per attribute (generated below by
-- pg_temp.declare_filtered, so no list of them is ever written out), and as one JSON object,
-- filters => '{"keys": ["Am"], "bpm_min": 120}' (the form saved searches store and programs pass),
-- which midi._filters checks and merges with the named ones.

/* _filters: the filter set of a call: the JSON object `filters` (its keys are midi.search_filters
   attributes; `also` names keys a caller accepts beside them, such as a saved search's "sort"), with
   every named filter that is not NULL laid over it. An unknown key or a value of the wrong type is an
   error (invalid_parameter_value, invalid_text_representation), never silently ignored. */
CREATE OR REPLACE FUNCTION midi._filters(filters jsonb, named midi.search_filters DEFAULT NULL, also text[] DEFAULT '{}')
RETURNS midi.search_filters
LANGUAGE plpgsql STABLE AS $$
DECLARE
    unknown text;
BEGIN
    IF filters IS NULL THEN
        RETURN named;
    END IF;
    IF jsonb_typeof(filters) <> 'object' THEN
        RAISE EXCEPTION 'filters must be a JSON object of search arguments, not %', filters
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
      FROM jsonb_object_keys(filters) k
     WHERE k <> ALL (coalesce(also, '{}'))
       AND k NOT IN (SELECT a.attname FROM pg_attribute a
                      WHERE a.attrelid = 'midi.search_filters'::regclass AND a.attnum > 0 AND NOT a.attisdropped);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown search argument(s): %', unknown USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN jsonb_populate_record(jsonb_populate_record(NULL::midi.search_filters, filters),
                                 jsonb_strip_nulls(to_jsonb(named)));
END;
$$;
COMMENT ON FUNCTION midi._filters(jsonb, midi.search_filters, text[]) IS
    'Internal: the filter set of a call: a JSON object of filters (checked) with the named filters laid over it';

/* pg_temp.declare_filtered: (re)creates the public function midi.<name> whose leading arguments are
   the filters, named and typed as the attributes of midi.search_filters (each DEFAULT NULL), followed by
   the `extra` arguments ('name type [DEFAULT value]' each) and a trailing `filters jsonb DEFAULT NULL`.
   In `body`, {filters} stands for the call's filter set: midi._filters of the JSON object and the named
   arguments. An overload of the same name with other argument types (the filters before an attribute
   was added) is dropped first, so a named call never becomes ambiguous and grants can name the function
   without its arguments. A temporary function: it exists only in the session that applies db/functions
   (42_facets.sql uses it too), so no role can ever call DDL built from text. */
CREATE OR REPLACE FUNCTION pg_temp.declare_filtered(name text, extra text[], returns text, language text, body text,
                                         about text) RETURNS regprocedure
LANGUAGE plpgsql AS $$
DECLARE
    params text;
    fields text;
    types oid[];
    old regprocedure;
    made regprocedure;
BEGIN
    SELECT string_agg(format('%I %s DEFAULT NULL', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum),
           string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
           array_agg(a.atttypid ORDER BY a.attnum)
      INTO params, fields, types
      FROM pg_attribute a
     WHERE a.attrelid = 'midi.search_filters'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    types := types || ARRAY(SELECT (regexp_match(x, '^\s*\S+\s+(.*?)(\s+DEFAULT\s.*)?$', 'i'))[1]::regtype::oid
                              FROM unnest(extra) WITH ORDINALITY AS e(x, i) ORDER BY i)
                   || 'jsonb'::regtype::oid;
    FOR old IN SELECT p.oid::regprocedure FROM pg_proc p
                WHERE p.pronamespace = 'midi'::regnamespace AND p.proname = name
                  AND p.proargtypes::oid[] IS DISTINCT FROM types LOOP
        EXECUTE format('DROP FUNCTION %s', old);
    END LOOP;
    EXECUTE format(E'CREATE OR REPLACE FUNCTION midi.%I(\n    %s,\n    %s,\n    filters jsonb DEFAULT NULL\n) RETURNS %s\nLANGUAGE %s AS $fn$%s$fn$',
                   name, params, array_to_string(extra, ', '), returns, language,
                   replace(body, '{filters}', format('midi._filters(filters, ROW(%s)::midi.search_filters)', fields)));
    made := format('midi.%I(%s)', name, array_to_string(ARRAY(SELECT format_type(t, NULL) FROM unnest(types) t), ', '));
    EXECUTE format('COMMENT ON FUNCTION %s IS %L', made, about);
    RETURN made;
END;
$$;

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
     filters         the same filters as one JSON object; a named filter given too wins
   rank is computed only when q is given: 1.0 when the file name holds every word, 0.5 when the words
   are found elsewhere (manufacturer, collection, folders, tags, category, instruments); with fuzzy the
   trigram word similarity. */
SELECT pg_temp.declare_filtered('search',
    ARRAY['sort text DEFAULT NULL', 'lim integer DEFAULT 50', 'after text DEFAULT NULL'],
    'SETOF midi.search_hit',
    'sql VOLATILE',  -- VOLATILE: plans with EXPLAIN estimates; reads only
    $$
    SELECT * FROM midi._search(midi._search_args({filters}, sort, after), sort, lim)
$$,
    'One page of matching files (id, filename, filepath, manufacturer, collection, bpm, key, category, duration, is_favorite, rank, cursor); keyset paging with after => cursor');

/* explain_search: the plans of the queries midi.search runs for the same arguments (one block per
   segment, "-- segment N" first), to see which index serves a shape. */
SELECT pg_temp.declare_filtered('explain_search',
    ARRAY['sort text DEFAULT NULL', 'lim integer DEFAULT 50', 'after text DEFAULT NULL'],
    'SETOF text',
    'plpgsql VOLATILE',  -- VOLATILE: STABLE code may not run EXPLAIN
    $$
DECLARE
    a midi._search_args := midi._search_args({filters}, sort, after);
    want integer := least(coalesce(lim, 50), 500);
    plan record;
    ranked boolean;
    sql text[];
BEGIN
    plan := midi._search_plan(a, sort, want);
    a := plan.args;
    ranked := plan.ranked;
    sql := midi._search_sql(a, sort, ranked);
    FOR i IN 1 .. cardinality(sql) LOOP
        RETURN NEXT CASE WHEN cardinality(sql) = 1 AND ranked THEN '-- ranked'
                         ELSE '-- segment ' || (coalesce(a.cur_seg, 1) + i - 1) END;
        RETURN QUERY EXECUTE 'EXPLAIN ' || sql[i] USING a, want;
    END LOOP;
END;
$$,
    'EXPLAIN of the queries midi.search runs for the same arguments, one block per segment');

/* _search_count: exact count up to cap, else an estimate (never below cap + 1), flagged exact = false.
   cap is bounded: above 100,000 it counts as 100,000, so no caller can ask for an unbounded exact count (an
   exact count reads every match it counts). Nothing is read when the estimate is a sampled count itself
   (one word or prefix, or no text query, and no other filter that narrows the library; not a product of
   independent guesses, which can put a thousand files on a combination that no file has), resting on at
   least 100 sampled documents, and at least twice cap + 1 (and 1,000): then a broad word's count up to
   5,000, which would visit some 30,000 rows, takes what the statistics say (as fresh as the last
   midi.refresh_views()). Otherwise the count reads up to cap + 1 matches; the estimate beyond cap is the
   word statistics' and the facet views' (_filter_rows), or the planner's. */
CREATE OR REPLACE FUNCTION midi._search_count(a midi._search_args, cap integer)
RETURNS TABLE (files bigint, exact boolean)
LANGUAGE plpgsql VOLATILE  -- VOLATILE: the estimate may come from EXPLAIN, which STABLE code may not run
SET jit = off AS $$  -- compiling a count of a few thousand rows costs more than it saves
DECLARE
    n bigint;
    est double precision;
    share double precision;  -- sampled documents per library file
    direct boolean;          -- the estimate is a sampled count, not a combination
BEGIN
    IF cap IS NULL OR cap < 0 THEN
        RAISE EXCEPTION 'cap must be 0 or more, not %', cap USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cap := least(cap, 100000);
    est := midi._filter_rows(a);
    SELECT w.sampled::double precision / greatest(w.files, 1) INTO share FROM midi.search_word_sample w;
    direct := est IS NOT NULL AND (a.tsq IS NULL OR numnode(a.tsq) = 1)
              AND midi._filter_rows(a, 'text') >= (SELECT l.files FROM midi.library_stats l)
              AND est * least(share, 1) >= 100;
    IF NOT coalesce(direct, false) OR est < greatest(2.0 * (cap + 1), 1000) THEN
        a := (midi._search_plan(a, 'newest', cap + 1)).args;  -- the text query through its index or not
        EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM midi.files f WHERE ' || midi._search_where(a) || ' LIMIT $2) s'
           INTO n USING a, cap + 1;
        IF n <= cap THEN
            RETURN QUERY SELECT n, true;
            RETURN;
        END IF;
        est := coalesce(est, midi._estimate_rows(a));
    END IF;
    RETURN QUERY SELECT greatest(round(est)::bigint, cap + 1::bigint), false;
END;
$$;
COMMENT ON FUNCTION midi._search_count(midi._search_args, integer) IS
    'Internal: exact match count up to cap, else an estimate flagged exact = false (statistics say: no rows read)';

/* search_count: how many files match the filters (same filters as midi.search): exact up to cap
   (default 5000), beyond that an estimate with exact = false, so a count never scans a million matches.
   When the library's word statistics count the matches themselves (one word, no other narrowing filter)
   at twice cap + 1 or more (and at least 1,000), the estimate comes without reading any match. cap => 0 gives the estimate alone (or an
   exact 0 when nothing matches); a cap above 100,000 counts as 100,000. */
SELECT pg_temp.declare_filtered('search_count',
    ARRAY['cap integer DEFAULT 5000'],
    'TABLE (files bigint, exact boolean)',
    'sql VOLATILE',
    $$
    SELECT * FROM midi._search_count(midi._search_args({filters}), cap)
$$,
    'Number of matching files: exact up to cap (default 5000), else an estimate with exact = false');
