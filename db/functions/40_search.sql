-- The read API: search, counts, facets, projections, key and tempo helpers, view refresh.
--
-- midi.search, midi.search_count and midi.facets share one filter set (type midi.search_filters). They
-- build their SQL from fixed fragments, one per filter that is set, and pass every value as the single
-- parameter $1 (type midi._search_args): no user text ever becomes SQL, and each call is planned for
-- the filters it really has, so every shape can use its own index instead of one catch-all plan.

-- ------------------------------------------------------------------------------------ key helpers

/* key_pitch_class: 0 (C) .. 11 (B) of a key's tonic; NULL for UNKNOWN. The enum lists the 12 majors,
   then the 12 minors, each from C, so the position is the arithmetic. */
CREATE OR REPLACE FUNCTION midi.key_pitch_class(k midi.musical_key) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN (array_position(enum_range(NULL::midi.musical_key), k) - 1) % 12 END
$$;
COMMENT ON FUNCTION midi.key_pitch_class(midi.musical_key) IS 'Pitch class of a key''s tonic: C=0 .. B=11 (NULL for UNKNOWN)';

/* key_is_minor: whether a key is a minor key; NULL for UNKNOWN. */
CREATE OR REPLACE FUNCTION midi.key_is_minor(k midi.musical_key) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN array_position(enum_range(NULL::midi.musical_key), k) > 12 END
$$;
COMMENT ON FUNCTION midi.key_is_minor(midi.musical_key) IS 'Whether a key is minor (NULL for UNKNOWN)';

/* _key_of: the key with tonic pitch class pc (any integer, taken mod 12) and the given mode. */
CREATE OR REPLACE FUNCTION midi._key_of(pc integer, minor boolean) RETURNS midi.musical_key
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT (enum_range(NULL::midi.musical_key))[((pc % 12) + 12) % 12 + 1 + CASE WHEN minor THEN 12 ELSE 0 END]
$$;
COMMENT ON FUNCTION midi._key_of(integer, boolean) IS 'Key of a tonic pitch class (mod 12) and mode';

/* relative_key: the relative minor of a major key (C -> Am) or the relative major of a minor key
   (Am -> C): same notes, other tonic. NULL for UNKNOWN. */
CREATE OR REPLACE FUNCTION midi.relative_key(k midi.musical_key) RETURNS midi.musical_key
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN midi.key_is_minor(k) THEN midi._key_of(midi.key_pitch_class(k) + 3, false)
                ELSE midi._key_of(midi.key_pitch_class(k) + 9, true) END
$$;
COMMENT ON FUNCTION midi.relative_key(midi.musical_key) IS 'Relative key: C <-> Am (NULL for UNKNOWN)';

/* fifths_neighbours: the two keys one step around the circle of fifths in the same mode, dominant first
   (C -> {G, F}; Am -> {Em, Dm}). NULL for UNKNOWN. */
CREATE OR REPLACE FUNCTION midi.fifths_neighbours(k midi.musical_key) RETURNS midi.musical_key[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN
        ARRAY[midi._key_of(midi.key_pitch_class(k) + 7, midi.key_is_minor(k)),
              midi._key_of(midi.key_pitch_class(k) + 5, midi.key_is_minor(k))] END
$$;
COMMENT ON FUNCTION midi.fifths_neighbours(midi.musical_key) IS
    'Dominant and subdominant in the same mode (one step each way around the circle of fifths)';

/* compatible_keys: keys that mix harmonically with k (the Camelot-wheel rule): k itself, its relative,
   and its two circle-of-fifths neighbours. What search(compatible_key => k) matches. */
CREATE OR REPLACE FUNCTION midi.compatible_keys(k midi.musical_key) RETURNS midi.musical_key[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN ARRAY[k, midi.relative_key(k)] || midi.fifths_neighbours(k) END
$$;
COMMENT ON FUNCTION midi.compatible_keys(midi.musical_key) IS
    'Harmonically compatible keys: same, relative, and one step either way around the circle of fifths';

-- ---------------------------------------------------------------------------------- tempo helpers

/* half_double_tempo: a tempo and the tempi a DJ would mix it with at half or double time, ascending
   (124 -> {62, 124, 248}). */
CREATE OR REPLACE FUNCTION midi.half_double_tempo(bpm numeric) RETURNS numeric[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT ARRAY[round(bpm / 2, 2), bpm, bpm * 2]
$$;
COMMENT ON FUNCTION midi.half_double_tempo(numeric) IS 'A tempo at half, normal and double time';

/* tempo_ranges: the inclusive BPM ranges a bpm_min / bpm_max filter matches: one range, or with
   halfdouble also the range at half and at double tempo. An open end is bounded by the 1..1000 BPM that
   files can hold. NULL when neither end is given. */
CREATE OR REPLACE FUNCTION midi.tempo_ranges(bpm_min numeric, bpm_max numeric, halfdouble boolean DEFAULT false)
RETURNS numrange[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN bpm_min IS NOT NULL OR bpm_max IS NOT NULL THEN
        ARRAY(SELECT numrange(coalesce(bpm_min, 0) * m, coalesce(bpm_max, 1000) * m, '[]')
                FROM unnest(CASE WHEN halfdouble THEN ARRAY[1, 0.5, 2] ELSE ARRAY[1] END::numeric[]) AS m
               WHERE coalesce(bpm_min, 0) * m <= 1000)
    END
$$;
COMMENT ON FUNCTION midi.tempo_ranges(numeric, numeric, boolean) IS
    'Inclusive BPM ranges of a tempo filter: [min,max], plus [min/2,max/2] and [2min,2max] with halfdouble';

-- ----------------------------------------------------------------------------------- text queries

/* parse_query: the tsquery of a search box text: web-search syntax ("quoted phrase", -not, or) through
   the midi.names configuration, never an error on odd input, and the last word matched as a prefix while
   it is being typed ("deep ba" finds "deep bass"). NULL when the text holds nothing searchable. */
CREATE OR REPLACE FUNCTION midi.parse_query(q text) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    tsq tsquery;
BEGIN
    IF q IS NULL OR q !~ '[[:alnum:]]' THEN
        RETURN NULL;
    END IF;
    tsq := websearch_to_tsquery('midi.names', q);
    IF numnode(tsq) = 0 THEN
        RETURN NULL;
    END IF;
    -- prefix only for a bare last word: not a negated word, not the end of a closed phrase, not "or"
    IF q ~ '[[:alnum:]]$' AND q !~ '(^|\s)-[^\s]*$' AND q !~* '(^|\s)or$'
       AND (length(q) - length(replace(q, '"', ''))) % 2 = 0 THEN
        tsq := regexp_replace(tsq::text, $re$'((?:[^']|'')*)'(\s*\)*)$$re$, $r$'\1':*\2$r$)::tsquery;
    END IF;
    RETURN tsq;
END;
$fn$;
COMMENT ON FUNCTION midi.parse_query(text) IS
    'Search box text to tsquery: websearch syntax, midi.names words, prefix match on the last word; NULL if empty';

/* _tsquery_in: the same query with every word restricted to the given weights ('A': the file name), for
   the first relevance tier: all words in the file name. */
CREATE OR REPLACE FUNCTION midi._tsquery_in(tsq tsquery, weights text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT regexp_replace(tsq::text, $re$('(?:[^']|'')*')(?::(\*))?$re$, '\1:\2' || weights, 'g')::tsquery
$$;
COMMENT ON FUNCTION midi._tsquery_in(tsquery, text) IS 'Internal: a tsquery with every lexeme restricted to the given weights';

-- ---------------------------------------------------------------------------------- search engine

/* _in_name / _outside_name: whether a search document matches the query at weight A (the file name),
   the first relevance tier, or not. Functions, so the planner gives them a neutral estimate: written as
   "(search_vector @@ q_a) IS TRUE" the test would be estimated from the unweighted word statistics and
   multiplied with the text test it is part of (a 3 percent word would count as 0.1 percent), and the
   tiers would be planned as full scans and sorts. COST 1: they are cheap, so they are tested first. */
CREATE OR REPLACE FUNCTION midi._in_name(search_vector tsvector, tsq_a tsquery) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT COST 1 AS $$
BEGIN
    RETURN search_vector @@ tsq_a;
END;
$$;
COMMENT ON FUNCTION midi._in_name(tsvector, tsquery) IS
    'Internal: whether a search document matches the query in the file name (first relevance tier)';

CREATE OR REPLACE FUNCTION midi._outside_name(search_vector tsvector, tsq_a tsquery) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT COST 1 AS $$
BEGIN
    RETURN NOT search_vector @@ tsq_a;
END;
$$;
COMMENT ON FUNCTION midi._outside_name(tsvector, tsquery) IS
    'Internal: whether a search document misses the query in the file name (second relevance tier)';

/* _trgm_schema: the schema pg_trgm lives in (midi unless the database already had it elsewhere). */
CREATE OR REPLACE FUNCTION midi._trgm_schema() RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'
$$;
COMMENT ON FUNCTION midi._trgm_schema() IS 'Internal: schema of the pg_trgm extension';

/* _search_args: resolves a filter set once per call: parses q, restricts it per relevance tier, expands
   compatible_key, turns tag names into ids (an unknown tag matches nothing), splits the time signature,
   computes the tempo ranges and decodes the keyset cursor. Raises invalid_parameter_value (22023) with a
   one-line reason on a bad sort, time signature or cursor. */
CREATE OR REPLACE FUNCTION midi._search_args(flt midi.search_filters, sort text DEFAULT NULL, after text DEFAULT NULL)
RETURNS midi._search_args
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: asks the planner (EXPLAIN) how broad the text query is
DECLARE
    a midi._search_args;
    ts text[];
    cur jsonb;
BEGIN
    a.f := flt;
    IF NOT coalesce(flt.fuzzy, false) THEN
        a.tsq := midi.parse_query(flt.q);
        IF a.tsq IS NOT NULL THEN
            a.tsq_a := midi._tsquery_in(a.tsq, 'A');
            -- The GIN index finds a rare word's files in microseconds, but turning a broad word's
            -- hundred thousand postings into a bitmap costs tens of milliseconds (and the planner prices
            -- it as nearly free): above 10,000 estimated matches the text test becomes a filter, and the
            -- query reads the newest-first index, or another filter's index, instead.
            a.text_rows := midi._estimate_rows('f.search_vector @@ ($1).tsq', a);
            a.text_indexed := a.text_rows <= 10000;
            -- the same for the file-name words (the first relevance tier) of a broad word
            a.name_indexed := a.text_indexed
                              OR midi._estimate_rows('midi.name_tsvector(f.filename) @@ ($1).tsq', a) <= 10000;
        END IF;
    ELSIF btrim(coalesce(flt.q, '')) = '' THEN
        a.f.q := NULL;
    END IF;
    IF flt.keys IS NOT NULL OR flt.compatible_key IS NOT NULL THEN
        a.key_set := ARRAY(SELECT DISTINCT k FROM unnest(coalesce(flt.keys, '{}') || midi.compatible_keys(flt.compatible_key)) k
                            WHERE k IS NOT NULL ORDER BY k);
    END IF;
    IF flt.tags_all IS NOT NULL THEN
        a.tag_all_ids := ARRAY(SELECT t.id FROM midi.tags t WHERE t.name = ANY (SELECT lower(btrim(x)) FROM unnest(flt.tags_all) x)
                                ORDER BY t.id);
        IF cardinality(a.tag_all_ids) < (SELECT count(DISTINCT lower(btrim(x))) FROM unnest(flt.tags_all) x) THEN
            a.tag_all_ids := '{-1}';   -- a tag that does not exist: no file carries all of them
        END IF;
    END IF;
    IF flt.tags_any IS NOT NULL THEN
        a.tag_any_ids := ARRAY(SELECT t.id FROM midi.tags t WHERE t.name = ANY (SELECT lower(btrim(x)) FROM unnest(flt.tags_any) x)
                                ORDER BY t.id);
        IF cardinality(a.tag_any_ids) = 0 THEN
            a.tag_any_ids := '{-1}';
        END IF;
    END IF;
    IF flt.time_signature IS NOT NULL THEN
        ts := regexp_match(flt.time_signature, '^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$');
        IF ts IS NULL THEN
            RAISE EXCEPTION 'time_signature must look like 4/4, not %', flt.time_signature
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        a.ts_num := ts[1]::smallint;
        a.ts_den := ts[2]::smallint;
    END IF;
    a.bpm_ranges := midi.tempo_ranges(flt.bpm_min, flt.bpm_max, coalesce(flt.bpm_halfdouble, false));
    IF sort IS NOT NULL AND sort NOT IN ('relevance', 'newest', 'bpm', 'name', 'duration') THEN
        RAISE EXCEPTION 'sort must be relevance, newest, bpm, name or duration, not %', sort
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF after IS NOT NULL THEN
        BEGIN
            cur := after::jsonb;
            a.cur_seg := (cur ->> 1)::integer;
            a.cur_id := (cur ->> 3)::bigint;
            CASE cur ->> 0
                WHEN 'relevance', 'newest' THEN
                    IF coalesce(flt.fuzzy, false) AND cur ->> 0 = 'relevance' THEN
                        a.cur_real := (cur ->> 2)::real;
                    ELSE
                        a.cur_ts := (cur ->> 2)::timestamptz;
                    END IF;
                WHEN 'bpm', 'duration' THEN a.cur_num := (cur ->> 2)::numeric;
                WHEN 'name' THEN a.cur_text := cur ->> 2;
                ELSE a.cur_seg := NULL;
            END CASE;
        EXCEPTION WHEN data_exception OR invalid_text_representation THEN
            a.cur_seg := NULL;
        END;
        IF a.cur_seg IS NULL OR a.cur_id IS NULL OR jsonb_typeof(cur) <> 'array' OR jsonb_array_length(cur) <> 4
           OR cur ->> 0 <> midi._search_sort(a, sort) THEN
            RAISE EXCEPTION 'after must be a cursor returned by a search with the same sort (got %)', after
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    RETURN a;
END;
$$;
COMMENT ON FUNCTION midi._search_args(midi.search_filters, text, text) IS
    'Internal: resolves filters (query, tiers, keys, tag ids, tempo ranges) and the keyset cursor once per call';

/* _estimate_rows: the planner's estimate of how many files satisfy a WHERE clause over midi.files f
   (values from $1). An EXPLAIN of a one-table query: about 0.1 ms, no rows read. */
CREATE OR REPLACE FUNCTION midi._estimate_rows(where_clause text, a midi._search_args) RETURNS double precision
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: STABLE code may not run EXPLAIN
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM midi.files f WHERE ' || where_clause INTO plan USING a;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
END;
$$;
COMMENT ON FUNCTION midi._estimate_rows(text, midi._search_args) IS
    'Internal: planner estimate of the files matching a search WHERE clause';

/* _search_sort: the effective sort: the one asked for, else relevance when there is a text query,
   else newest. Relevance without a query is newest. */
CREATE OR REPLACE FUNCTION midi._search_sort(a midi._search_args, sort text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN coalesce(sort, 'relevance') = 'relevance' AND (a.tsq IS NOT NULL OR (a.f).q IS NOT NULL AND (a.f).fuzzy)
            THEN 'relevance'
        WHEN coalesce(sort, 'relevance') = 'relevance' THEN 'newest'
        ELSE sort END
$$;
COMMENT ON FUNCTION midi._search_sort(midi._search_args, text) IS 'Internal: the effective sort of a search';

/* _search_where: the WHERE clause (over midi.files f) of a resolved filter set, built from fixed
   fragments that read their values from parameter $1. skip leaves one facet dimension out
   (manufacturer, collection, key, category, bpm or tag): midi.facets counts each dimension under all
   the other filters, so values inside a dimension combine with OR and dimensions with AND. (skip =>
   'text' leaves the text query out, for estimates.) */
CREATE OR REPLACE FUNCTION midi._search_where(a midi._search_args, skip text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    w text[] := ARRAY['true'];
    mm text[] := '{}';
    r text[] := '{}';
BEGIN
    IF a.tsq IS NOT NULL AND skip IS DISTINCT FROM 'text' THEN
        -- IS TRUE keeps a broad word's test out of the GIN index (see _search_args)
        w := w || CASE WHEN a.text_indexed THEN 'f.search_vector @@ ($1).tsq' ELSE '(f.search_vector @@ ($1).tsq) IS TRUE' END;
    ELSIF (a.f).fuzzy AND (a.f).q IS NOT NULL THEN
        w := w || format('(($1).f).q OPERATOR(%I.<%%) f.filename', midi._trgm_schema());
    END IF;
    -- one value is written as equality: before PostgreSQL 17 an index scan with "= ANY" is not ordered,
    -- and the ordered (value, created_at, id) scans are what make a filtered newest-first page cheap
    IF a.key_set IS NOT NULL AND skip IS DISTINCT FROM 'key' THEN
        w := w || CASE WHEN cardinality(a.key_set) = 1 THEN 'f.cached_key = (($1).key_set)[1]'
                       ELSE 'f.cached_key = ANY (($1).key_set)' END;
    END IF;
    IF (a.f).manufacturer IS NOT NULL AND skip IS DISTINCT FROM 'manufacturer' THEN
        w := w || CASE WHEN cardinality((a.f).manufacturer) = 1 THEN 'f.manufacturer = ((($1).f).manufacturer)[1]'
                       ELSE 'f.manufacturer = ANY ((($1).f).manufacturer)' END;
    END IF;
    IF (a.f).collection IS NOT NULL AND skip IS DISTINCT FROM 'collection' THEN
        w := w || CASE WHEN cardinality((a.f).collection) = 1 THEN 'f.collection_name = ((($1).f).collection)[1]'
                       ELSE 'f.collection_name = ANY ((($1).f).collection)' END;
    END IF;
    IF (a.f).categories IS NOT NULL AND skip IS DISTINCT FROM 'category' THEN
        w := w || CASE WHEN cardinality((a.f).categories) = 1 THEN 'f.cached_category = ((($1).f).categories)[1]'
                       ELSE 'f.cached_category = ANY ((($1).f).categories)' END;
    END IF;
    IF a.bpm_ranges IS NOT NULL AND skip IS DISTINCT FROM 'bpm' THEN
        FOR i IN 1 .. cardinality(a.bpm_ranges) LOOP
            r := r || format('f.cached_bpm BETWEEN lower((($1).bpm_ranges)[%s]) AND upper((($1).bpm_ranges)[%s])', i, i);
        END LOOP;
        w := w || ('(' || array_to_string(r, ' OR ') || ')');
    END IF;
    IF a.tag_all_ids IS NOT NULL AND skip IS DISTINCT FROM 'tag' THEN
        w := w || 'f.tag_ids @> ($1).tag_all_ids'::text;
    END IF;
    IF a.tag_any_ids IS NOT NULL AND skip IS DISTINCT FROM 'tag' THEN
        w := w || 'f.tag_ids && ($1).tag_any_ids'::text;
    END IF;
    IF (a.f).duration_min IS NOT NULL THEN
        w := w || 'f.duration_seconds >= (($1).f).duration_min'::text;
    END IF;
    IF (a.f).duration_max IS NOT NULL THEN
        w := w || 'f.duration_seconds <= (($1).f).duration_max'::text;
    END IF;
    IF a.ts_num IS NOT NULL THEN
        mm := mm || 'm.time_signature_numerator = ($1).ts_num AND m.time_signature_denominator = ($1).ts_den'::text;
    END IF;
    IF (a.f).notes_min IS NOT NULL THEN
        mm := mm || 'm.total_notes >= (($1).f).notes_min'::text;
    END IF;
    IF (a.f).notes_max IS NOT NULL THEN
        mm := mm || 'm.total_notes <= (($1).f).notes_max'::text;
    END IF;
    IF (a.f).percussive IS NOT NULL THEN
        mm := mm || 'm.is_percussive = (($1).f).percussive'::text;
    END IF;
    IF cardinality(mm) > 0 THEN
        w := w || ('EXISTS (SELECT 1 FROM midi.musical_metadata m WHERE m.file_id = f.id AND '
                   || array_to_string(mm, ' AND ') || ')');
    END IF;
    IF (a.f).favorites_only THEN
        w := w || 'EXISTS (SELECT 1 FROM midi.favorites fv WHERE fv.file_id = f.id)'::text;
    END IF;
    IF (a.f).min_rating IS NOT NULL THEN
        w := w || 'EXISTS (SELECT 1 FROM midi.ratings rt WHERE rt.file_id = f.id AND rt.rating >= (($1).f).min_rating)'::text;
    END IF;
    RETURN array_to_string(w, E'\n   AND ');
END;
$$;
COMMENT ON FUNCTION midi._search_where(midi._search_args, text) IS
    'Internal: WHERE clause of a resolved filter set (values read from $1), optionally without one facet dimension';

/* _search_sql: the queries one search runs, in output order, from the cursor's segment on. A sort is a
   list of segments, each one index-ordered query:
     relevance  two tiers: files whose name holds every word (rank 1.0), then files that match elsewhere
                (manufacturer, collection, folders, tags, category, instruments; rank 0.5), newest first
                inside a tier. Only the tiers needed to fill the page run, so a broad word reads the
                newest-first index until the page is full instead of ranking every match (the seed's
                bottleneck). When few files match (ranked), one query sorts them all by tier instead.
                Finer tiers (manufacturer before folder before tags) would need an index per tier: a word
                common in the library but absent from one tier would make that tier's newest-first scan
                read the whole table;
     relevance  with fuzzy: one query ordered by trigram word similarity to the file name (the best of the
                first 2,000 candidates);
     newest     created_at DESC, id DESC;
     bpm        files with a BPM by (bpm, id), then those without by id;  duration likewise;
     name       (filename, id).
   The keyset cursor [sort, segment or tier, value, id] continues exactly where the last page ended, so
   page 100 costs what page 1 costs, and the same cursor works in both relevance plans. $2 is the number
   of rows still wanted. */
CREATE OR REPLACE FUNCTION midi._search_sql(a midi._search_args, sort text, ranked boolean DEFAULT false)
RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s text := midi._search_sort(a, sort);
    base text := midi._search_where(a);
    base_notext text := midi._search_where(a, 'text');
    sim text;
    rank text;
    tier text := 'CASE WHEN midi._in_name(f.search_vector, ($1).tsq_a) THEN 1 ELSE 2 END';
    cols text := 'f.id, f.filename, f.filepath::text AS filepath, f.manufacturer, f.collection_name AS collection,'
                 || E'\n       f.cached_bpm AS bpm, f.cached_key AS key, f.cached_category AS category, f.duration_seconds AS duration,'
                 -- a correlated probe per returned row, never a hash of all favorites
                 || E'\n       coalesce((SELECT true FROM midi.favorites fv WHERE fv.file_id = f.id), false) AS is_favorite,';
    -- per segment: extra condition, ORDER BY, cursor value, keyset condition (after the cursor row), rank
    seg_cond text[];
    seg_order text[];
    seg_value text[];
    seg_after text[];
    seg_rank text[];
    out text[] := '{}';
BEGIN
    IF a.tsq IS NOT NULL THEN
        rank := '(ARRAY[1.0, 0.5])[' || tier || ']';
    ELSIF (a.f).fuzzy AND (a.f).q IS NOT NULL THEN
        sim := format('%I.word_similarity((($1).f).q, f.filename)', midi._trgm_schema());
        rank := sim;
    ELSE
        rank := 'NULL';
    END IF;

    IF s = 'relevance' AND sim IS NOT NULL THEN
        -- Trigram candidates of a common word run to the hundred thousand and each costs a similarity
        -- computation: the best matches are taken from the first 2,000 candidates.
        RETURN ARRAY[
            'SELECT ' || cols
            || E'\n       f.sim AS rank,'
            || E'\n       jsonb_build_array(''relevance'', 1, to_jsonb(f.sim), f.id)::text AS cursor'
            || E'\n  FROM (SELECT f.*, ' || sim || '::real AS sim FROM midi.files f'
            || E'\n         WHERE ' || base || ' LIMIT 2000) f'
            || CASE WHEN a.cur_seg IS NOT NULL THEN E'\n WHERE (f.sim, f.id) < (($1).cur_real, ($1).cur_id)' ELSE '' END
            || E'\n ORDER BY f.sim DESC, f.id DESC'
            || E'\n LIMIT $2'];
    END IF;

    IF s = 'relevance' AND sim IS NULL AND ranked THEN
        RETURN ARRAY[
            'SELECT ' || cols
            || E'\n       (ARRAY[1.0, 0.5])[f.tier]::real AS rank,'
            || E'\n       jsonb_build_array(''relevance'', f.tier, to_jsonb(f.created_at), f.id)::text AS cursor'
            || E'\n  FROM (SELECT f.*, ' || tier || ' AS tier FROM midi.files f'
            || E'\n         WHERE ' || base || ') f'
            || CASE WHEN a.cur_seg IS NOT NULL
                    THEN E'\n WHERE f.tier > ($1).cur_seg OR (f.tier = ($1).cur_seg AND (f.created_at, f.id) < (($1).cur_ts, ($1).cur_id))'
                    ELSE '' END
            || E'\n ORDER BY f.tier, f.created_at DESC, f.id DESC'
            || E'\n LIMIT $2'];
    END IF;

    CASE s
        WHEN 'relevance' THEN
            -- Tier 1 is tested on the file-name words (midi.name_tsvector, the unweighted weight-A part of
            -- search_vector): a word rare in names (a manufacturer's name) is found by their index, one
            -- common in names is a filter on a newest-first or other filter's scan (as for the text
            -- test, a bitmap of its postings would cost more than the planner thinks). Tier 2 is a
            -- filter: the rest of the matches.
            -- (tier 1 leaves the text test out: a name match is a text match, and the planner would
            -- multiply the two as if they were independent)
            seg_cond := ARRAY['midi._in_name(f.search_vector, ($1).tsq_a) AND '
                              || CASE WHEN a.name_indexed THEN 'midi.name_tsvector(f.filename) @@ ($1).tsq'
                                      ELSE '(midi.name_tsvector(f.filename) @@ ($1).tsq) IS TRUE' END,
                              'midi._outside_name(f.search_vector, ($1).tsq_a)'];
            seg_order := array_fill('f.created_at DESC, f.id DESC'::text, ARRAY[2]);
            seg_value := array_fill('to_jsonb(f.created_at)'::text, ARRAY[2]);
            seg_after := array_fill('f.created_at <= ($1).cur_ts AND (f.created_at, f.id) < (($1).cur_ts, ($1).cur_id)'::text, ARRAY[2]);
            seg_rank := ARRAY['1.0', '0.5'];
        WHEN 'newest' THEN
            seg_cond := ARRAY['true'];
            seg_order := ARRAY['f.created_at DESC, f.id DESC'];
            seg_value := ARRAY['to_jsonb(f.created_at)'];
            seg_after := ARRAY['f.created_at <= ($1).cur_ts AND (f.created_at, f.id) < (($1).cur_ts, ($1).cur_id)'];
            seg_rank := ARRAY[rank];
        WHEN 'bpm' THEN
            seg_cond := ARRAY['f.cached_bpm IS NOT NULL', 'f.cached_bpm IS NULL'];
            seg_order := ARRAY['f.cached_bpm, f.id', 'f.id'];
            seg_value := ARRAY['to_jsonb(f.cached_bpm)', 'NULL::jsonb'];
            seg_after := ARRAY['f.cached_bpm >= ($1).cur_num AND (f.cached_bpm, f.id) > (($1).cur_num, ($1).cur_id)',
                               'f.id > ($1).cur_id'];
            seg_rank := ARRAY[rank, rank];
        WHEN 'duration' THEN
            seg_cond := ARRAY['f.duration_seconds IS NOT NULL', 'f.duration_seconds IS NULL'];
            seg_order := ARRAY['f.duration_seconds, f.id', 'f.id'];
            seg_value := ARRAY['to_jsonb(f.duration_seconds)', 'NULL::jsonb'];
            seg_after := ARRAY['f.duration_seconds >= ($1).cur_num AND (f.duration_seconds, f.id) > (($1).cur_num, ($1).cur_id)',
                               'f.id > ($1).cur_id'];
            seg_rank := ARRAY[rank, rank];
        WHEN 'name' THEN
            seg_cond := ARRAY['true'];
            seg_order := ARRAY['f.filename, f.id'];
            seg_value := ARRAY['to_jsonb(f.filename)'];
            seg_after := ARRAY['f.filename >= ($1).cur_text AND (f.filename, f.id) > (($1).cur_text, ($1).cur_id)'];
            seg_rank := ARRAY[rank];
    END CASE;

    FOR i IN coalesce(a.cur_seg, 1) .. cardinality(seg_cond) LOOP
        out := out || (
            'SELECT ' || cols
            || E'\n       (' || seg_rank[i] || ')::real AS rank,'
            || E'\n       jsonb_build_array(' || quote_literal(s) || ', ' || i || ', ' || seg_value[i] || ', f.id)::text AS cursor'
            || E'\n  FROM midi.files f'
            || E'\n WHERE ' || CASE WHEN s = 'relevance' AND i = 1 THEN base_notext ELSE base END
            || CASE WHEN seg_cond[i] <> 'true' THEN E'\n   AND ' || seg_cond[i] ELSE '' END
            || CASE WHEN i = a.cur_seg THEN E'\n   AND ' || seg_after[i] ELSE '' END
            || E'\n ORDER BY ' || seg_order[i]
            || E'\n LIMIT $2');
    END LOOP;
    RETURN out;
END;
$$;
COMMENT ON FUNCTION midi._search_sql(midi._search_args, text, boolean) IS
    'Internal: the index-ordered segment queries of a search (or one ranked query), in output order, from the cursor on';

/* _search_ranked: whether a relevance search sorts all its matches in one query (few matches: at most
   5,000 estimated) rather than walking the tiers newest-first (many). */
CREATE OR REPLACE FUNCTION midi._search_ranked(a midi._search_args, sort text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: asks the planner (EXPLAIN)
BEGIN
    IF a.tsq IS NULL OR midi._search_sort(a, sort) <> 'relevance' THEN
        RETURN false;
    ELSIF midi._search_where(a, 'text') = 'true' THEN
        RETURN a.text_rows <= 5000;  -- only the text query: its estimate is already known
    END IF;
    -- few matches, and (when the text test is a filter) few candidates to test it on
    RETURN midi._estimate_rows(midi._search_where(a), a) <= 5000
       AND (a.text_indexed OR midi._estimate_rows(midi._search_where(a, 'text'), a) <= 5000);
END;
$$;
COMMENT ON FUNCTION midi._search_ranked(midi._search_args, text) IS
    'Internal: whether a relevance search has few enough matches to rank them in one query';

/* _search: runs the queries of a search until the page is full, without parallel workers. */
CREATE OR REPLACE FUNCTION midi._search(a midi._search_args, sort text, lim integer) RETURNS SETOF midi.search_hit
LANGUAGE plpgsql VOLATILE  -- VOLATILE: plans with EXPLAIN estimates; reads only
-- a page is a few index probes: starting parallel workers would cost more than it saves, and with many
-- clients at once it takes their cores
SET max_parallel_workers_per_gather = 0 SET jit = off AS $$
DECLARE
    want integer;
    got integer;
    q text;
BEGIN
    IF lim IS NOT NULL AND lim < 1 THEN
        RAISE EXCEPTION 'lim must be at least 1, not %', lim USING ERRCODE = 'invalid_parameter_value';
    END IF;
    want := least(coalesce(lim, 50), 500);
    FOREACH q IN ARRAY midi._search_sql(a, sort, midi._search_ranked(a, sort)) LOOP
        RETURN QUERY EXECUTE q USING a, want;
        GET DIAGNOSTICS got = ROW_COUNT;
        want := want - got;
        EXIT WHEN want <= 0;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi._search(midi._search_args, text, integer) IS
    'Internal: runs a search''s queries until lim rows are returned';

-- ------------------------------------------------------------------------------------- public API

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

/* _search_count: exact count up to cap, else the planner's estimate (never below cap + 1), flagged. */
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
   estimate alone (or an exact 0 when nothing matches). */
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

/* _has_filter: whether a filter set restricts anything (facets read the materialized views when not). */
CREATE OR REPLACE FUNCTION midi._has_filter(a midi._search_args) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT a.tsq IS NOT NULL OR ((a.f).fuzzy AND (a.f).q IS NOT NULL) OR a.key_set IS NOT NULL
        OR (a.f).manufacturer IS NOT NULL OR (a.f).collection IS NOT NULL OR (a.f).categories IS NOT NULL
        OR a.bpm_ranges IS NOT NULL OR a.tag_all_ids IS NOT NULL OR a.tag_any_ids IS NOT NULL
        OR a.ts_num IS NOT NULL OR (a.f).duration_min IS NOT NULL OR (a.f).duration_max IS NOT NULL
        OR (a.f).notes_min IS NOT NULL OR (a.f).notes_max IS NOT NULL OR (a.f).percussive IS NOT NULL
        OR coalesce((a.f).favorites_only, false) OR (a.f).min_rating IS NOT NULL
$$;
COMMENT ON FUNCTION midi._has_filter(midi._search_args) IS 'Internal: whether any filter is set';

/* _facet_sql: one query counting the given facet dimensions over the files matching a WHERE clause:
   the matching rows are read once (only the columns the dimensions need, so an index-only scan can
   serve them), then grouped per dimension; top $2 values per dimension. With sampled, the rows come
   from a repeatable page sample of $3 percent of the table and the counts are scaled up. */
CREATE OR REPLACE FUNCTION midi._facet_sql(dims text[], where_clause text, sampled boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    -- several dimensions read the matching rows once (MATERIALIZED); one dimension reads them directly,
    -- which lets PostgreSQL use parallel workers for a broad filter
    SELECT 'WITH m AS ' || CASE WHEN cardinality(dims) > 1 THEN 'MATERIALIZED ' ELSE '' END || '(SELECT '
        || array_to_string(ARRAY(
               SELECT c FROM unnest(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'],
                                    ARRAY['f.manufacturer', 'f.collection_name', 'f.cached_key', 'f.cached_category',
                                          'f.cached_bpm', 'f.tag_ids']) AS d(dim, c)
                WHERE d.dim = ANY (dims)), ', ')
        || ' FROM midi.files f'
        || CASE WHEN sampled THEN ' TABLESAMPLE SYSTEM ($3) REPEATABLE (0)' ELSE '' END
        || ' WHERE ' || where_clause || E')\n'
        || 'SELECT g.facet, g.value, '
        || CASE WHEN sampled THEN 'round(g.files * 100 / $3)::bigint, false' ELSE 'g.files, true' END
        || E' FROM (SELECT x.*, row_number() OVER (PARTITION BY x.facet ORDER BY x.files DESC, x.value) AS rn FROM (\n'
        || array_to_string(ARRAY(
               SELECT q FROM unnest(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'], ARRAY[
                   'SELECT ''manufacturer''::text AS facet, m.manufacturer AS value, count(*) AS files FROM m WHERE m.manufacturer IS NOT NULL GROUP BY 2',
                   'SELECT ''collection''::text AS facet, m.collection_name AS value, count(*) AS files FROM m WHERE m.collection_name IS NOT NULL GROUP BY 2',
                   'SELECT ''key''::text AS facet, m.cached_key::text AS value, count(*) AS files FROM m WHERE m.cached_key IS NOT NULL GROUP BY m.cached_key',
                   'SELECT ''category''::text AS facet, m.cached_category::text AS value, count(*) AS files FROM m WHERE m.cached_category IS NOT NULL GROUP BY m.cached_category',
                   -- numeric arithmetic per row is slow: count per tempo first, bucket the few tempi after
                   'SELECT ''bpm''::text AS facet, (floor(b.bpm / 10) * 10)::integer::text AS value, sum(b.n)::bigint AS files FROM (SELECT m.cached_bpm AS bpm, count(*) AS n FROM m WHERE m.cached_bpm IS NOT NULL GROUP BY 1) b GROUP BY 2',
                   'SELECT ''tag''::text AS facet, t.name AS value, count(*) AS files FROM m CROSS JOIN LATERAL unnest(m.tag_ids) AS ti(tag_id) JOIN midi.tags t ON t.id = ti.tag_id GROUP BY 2'
               ]) AS d(dim, q)
                WHERE d.dim = ANY (dims)), E'\nUNION ALL\n')
        || E'\n) x) g WHERE g.rn <= $2'
$$;
COMMENT ON FUNCTION midi._facet_sql(text[], text, boolean) IS
    'Internal: SQL counting facet dimensions over the files matching a WHERE clause (or a page sample), top $2 values each';

/* _facet_query: runs one facet query, exactly when its filters match few files or an index answers it
   cheaply, else over a page sample. Counting N matches from the table costs a random page read each; a
   sample that finds 5,000 of them reads 5,000 / N of the table's pages in order, and its larger counts
   are within a few percent (the counts the panel shows first). Above 20,000 estimated matches the
   planner's costs of both plans decide; the sample is sized to find about 5,000 matches. */
CREATE OR REPLACE FUNCTION midi._facet_query(a midi._search_args, dims text[], skip text, lim integer)
RETURNS TABLE (facet text, value text, files bigint, exact boolean)
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: EXPLAIN estimates; reads only
DECLARE
    w text := midi._search_where(a, skip);
    est double precision := midi._estimate_rows(w, a);
    pct real;
    exact_plan json;
    sample_plan json;
BEGIN
    IF est > 20000 THEN
        pct := least(100, 100 * 5000 / est);
        EXECUTE 'EXPLAIN (FORMAT JSON) ' || midi._facet_sql(dims, w) INTO exact_plan USING a, lim;
        EXECUTE 'EXPLAIN (FORMAT JSON) ' || midi._facet_sql(dims, w, true) INTO sample_plan USING a, lim, pct;
        IF (sample_plan -> 0 -> 'Plan' ->> 'Total Cost')::float8 < (exact_plan -> 0 -> 'Plan' ->> 'Total Cost')::float8 THEN
            RETURN QUERY EXECUTE midi._facet_sql(dims, w, true) USING a, lim, pct;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY EXECUTE midi._facet_sql(dims, w) USING a, lim;
END;
$$;
COMMENT ON FUNCTION midi._facet_query(midi._search_args, text[], text, integer) IS
    'Internal: one facet query, exact when cheap, else from a page sample (scaled, exact = false)';

/* _facets_from_views: the unfiltered counts of the given dimensions, from the materialized views. */
CREATE OR REPLACE FUNCTION midi._facets_from_views(dims text[], lim integer)
RETURNS TABLE (facet text, value text, files bigint, exact boolean)
LANGUAGE sql STABLE AS $$
    (SELECT 'manufacturer', m.manufacturer, m.files, true FROM midi.manufacturer_counts m
      WHERE 'manufacturer' = ANY (dims) ORDER BY m.files DESC, m.manufacturer LIMIT lim)
    UNION ALL
    (SELECT 'collection', c.collection_name, sum(c.files)::bigint, true FROM midi.collection_counts c
      WHERE 'collection' = ANY (dims) GROUP BY c.collection_name ORDER BY 3 DESC, 2 LIMIT lim)
    UNION ALL
    (SELECT 'key', k.key::text, k.files, true FROM midi.key_counts k
      WHERE 'key' = ANY (dims) ORDER BY k.files DESC, k.key::text LIMIT lim)
    UNION ALL
    (SELECT 'category', c.category::text, c.files, true FROM midi.category_counts c
      WHERE 'category' = ANY (dims) ORDER BY c.files DESC, c.category::text LIMIT lim)
    UNION ALL
    (SELECT 'bpm', b.bucket::text, b.files, true FROM midi.bpm_bucket_counts b
      WHERE 'bpm' = ANY (dims) ORDER BY b.files DESC, b.bucket::text LIMIT lim)
    UNION ALL
    (SELECT 'tag', t.name, tc.files, true FROM midi.tag_counts tc JOIN midi.tags t ON t.id = tc.tag_id
      WHERE 'tag' = ANY (dims) ORDER BY tc.files DESC, t.name LIMIT lim)
$$;
COMMENT ON FUNCTION midi._facets_from_views(text[], integer) IS
    'Internal: unfiltered facet counts of the given dimensions, from the materialized views';

/* _facets: facet counts of a resolved filter set. Each dimension with a filter of its own is counted
   under all the other filters (its own left out: OR inside a dimension, AND across); the dimensions
   without one share a single pass over the files matching everything. A dimension whose only filter is
   its own (and no filter at all) is counted by the materialized views. */
CREATE OR REPLACE FUNCTION midi._facets(a midi._search_args, facet_limit integer)
RETURNS TABLE (facet text, value text, files bigint, exact boolean)
LANGUAGE plpgsql VOLATILE  -- VOLATILE like midi._search_args (EXPLAIN estimates); reads only
SET jit = off AS $$  -- compiling a broad count costs more than it saves
DECLARE
    lim integer := coalesce(facet_limit, 20);
    active text[] := '{}';
    idle text[];
    d text;
BEGIN
    IF lim < 1 THEN
        RAISE EXCEPTION 'facet_limit must be at least 1, not %', lim USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT midi._has_filter(a) THEN
        RETURN QUERY SELECT * FROM midi._facets_from_views(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'], lim);
        RETURN;
    END IF;
    IF (a.f).manufacturer IS NOT NULL THEN active := active || 'manufacturer'::text; END IF;
    IF (a.f).collection IS NOT NULL THEN active := active || 'collection'::text; END IF;
    IF a.key_set IS NOT NULL THEN active := active || 'key'::text; END IF;
    IF (a.f).categories IS NOT NULL THEN active := active || 'category'::text; END IF;
    IF a.bpm_ranges IS NOT NULL THEN active := active || 'bpm'::text; END IF;
    IF a.tag_all_ids IS NOT NULL OR a.tag_any_ids IS NOT NULL THEN active := active || 'tag'::text; END IF;
    idle := ARRAY(SELECT x FROM unnest(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag']) x
                   WHERE x <> ALL (active));
    IF cardinality(idle) > 0 THEN
        RETURN QUERY SELECT * FROM midi._facet_query(a, idle, NULL, lim);
    END IF;
    FOREACH d IN ARRAY active LOOP
        IF midi._search_where(a, d) = 'true' THEN
            RETURN QUERY SELECT * FROM midi._facets_from_views(ARRAY[d], lim);
        ELSE
            RETURN QUERY SELECT * FROM midi._facet_query(a, ARRAY[d], d, lim);
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi._facets(midi._search_args, integer) IS
    'Internal: facet counts of a resolved filter set (materialized views when nothing is filtered)';

/* facets: counts per manufacturer, collection, key, category, BPM bucket (10 BPM, named by the lower
   bound) and tag under the current filters (same arguments as midi.search). Inside a dimension values
   combine with OR, dimensions with AND: each dimension is counted under all filters except its own, so
   ticking a second key widens the key list instead of emptying it. With no filter at all the counts
   come from the materialized views (as fresh as the last midi.refresh_views()). When a dimension's
   filters match a large part of the library its counts are estimated from a repeatable page sample
   (exact = false), so a facet panel never reads hundreds of thousands of rows. */
CREATE OR REPLACE FUNCTION midi.facets(
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
    facet_limit integer DEFAULT 20
) RETURNS TABLE (facet text, value text, files bigint, exact boolean)
LANGUAGE sql VOLATILE AS $$  -- VOLATILE: plans with EXPLAIN estimates; reads only
    SELECT x.facet, x.value, x.files, x.exact FROM midi._facets(
        midi._search_args(ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection,
                              categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min,
                              notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters),
        facet_limit) AS x
     ORDER BY array_position(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'], x.facet),
              x.files DESC, x.value
$$;
COMMENT ON FUNCTION midi.facets(text, numeric, numeric, boolean, midi.musical_key[], midi.musical_key, text[], text[],
                                midi.file_category[], text[], text[], text, numeric, numeric, integer, integer, boolean,
                                boolean, integer, boolean, integer) IS
    'Facet counts (manufacturer, collection, key, category, bpm bucket, tag) under the filters: OR within a facet, AND across; exact = false when sampled';

-- ------------------------------------------------------------------------- projections and loading

/* file_essential: the four columns a result list needs (the seed's FileEssential projection). */
CREATE OR REPLACE FUNCTION midi.file_essential(file_id bigint)
RETURNS TABLE (id bigint, filename text, filepath text, file_size_bytes bigint)
LANGUAGE sql STABLE AS $$
    SELECT f.id, f.filename, f.filepath::text, f.file_size_bytes FROM midi.files f WHERE f.id = file_id
$$;
COMMENT ON FUNCTION midi.file_essential(bigint) IS 'id, filename, filepath, file_size_bytes of one file';

/* file_for_analysis: what an analyzer needs to open files (the seed's FileForAnalysis projection), in
   the order the ids were given. */
CREATE OR REPLACE FUNCTION midi.file_for_analysis(ids bigint[])
RETURNS TABLE (id bigint, filepath text, filename text, num_tracks smallint, duration_seconds numeric)
LANGUAGE sql STABLE AS $$
    SELECT f.id, f.filepath::text, f.filename, f.num_tracks, f.duration_seconds
      FROM unnest(ids) WITH ORDINALITY AS u(id, ord)
      JOIN midi.files f ON f.id = u.id
     ORDER BY u.ord
$$;
COMMENT ON FUNCTION midi.file_for_analysis(bigint[]) IS 'id, filepath, filename, num_tracks, duration_seconds of files, in the order asked';

/* load_tracks: id, filepath and filename of the files a DAW is loading, in exactly the order asked
   (duplicates repeat; unknown ids are skipped). Primary-key lookups, no sort of the table. */
CREATE OR REPLACE FUNCTION midi.load_tracks(ids bigint[])
RETURNS TABLE (id bigint, filepath text, filename text)
LANGUAGE sql STABLE AS $$
    SELECT f.id, f.filepath::text, f.filename
      FROM unnest(ids) WITH ORDINALITY AS u(id, ord)
      JOIN midi.files f ON f.id = u.id
     ORDER BY u.ord
$$;
COMMENT ON FUNCTION midi.load_tracks(bigint[]) IS 'id, filepath, filename of the given files, in the order asked';

/* file_details: everything about one file: the seed's four-table view (files, musical_metadata,
   file_categories, favorites) plus rating, tags, instruments and every path the content was seen at. */
CREATE OR REPLACE FUNCTION midi.file_details(file_id bigint)
RETURNS TABLE (
    id bigint, filename text, filepath text, file_size_bytes bigint, manufacturer text, collection_name text,
    folder_tags text[], bpm double precision, key_signature text, time_signature_numerator smallint,
    time_signature_denominator smallint, total_notes integer, is_percussive boolean, primary_category text,
    secondary_category text, is_favorite boolean, rating smallint, duration_seconds numeric, num_tracks smallint,
    format smallint, tags text[], instruments text[], paths text[], content_hash text, created_at timestamptz,
    analyzed_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT f.id, f.filename, f.filepath::text, f.file_size_bytes, f.manufacturer, f.collection_name, f.folder_tags,
           coalesce(mm.bpm, f.cached_bpm)::float8, coalesce(mm.key_signature, f.cached_key)::text,
           mm.time_signature_numerator, mm.time_signature_denominator, mm.total_notes, mm.is_percussive,
           fc.primary_category::text, fc.secondary_category::text, fav.file_id IS NOT NULL, r.rating,
           f.duration_seconds, f.num_tracks, f.format,
           ARRAY(SELECT t.name FROM midi.file_tags ft JOIN midi.tags t ON t.id = ft.tag_id
                  WHERE ft.file_id = f.id ORDER BY t.name),
           ARRAY(SELECT coalesce(fi.instrument_name, CASE WHEN fi.is_drum THEN 'drum kit' ELSE 'program ' || fi.program END)
                        || ' (ch ' || fi.channel + 1 || ')'
                   FROM midi.file_instruments fi WHERE fi.file_id = f.id ORDER BY fi.channel, fi.program),
           ARRAY(SELECT p.path::text FROM midi.file_paths p WHERE p.file_id = f.id ORDER BY p.path),
           encode(f.content_hash, 'hex'), f.created_at, f.analyzed_at
      FROM midi.files f
      LEFT JOIN midi.musical_metadata mm ON mm.file_id = f.id
      LEFT JOIN midi.file_categories fc ON fc.file_id = f.id
      LEFT JOIN midi.favorites fav ON fav.file_id = f.id
      LEFT JOIN midi.ratings r ON r.file_id = f.id
     WHERE f.id = file_details.file_id
$$;
COMMENT ON FUNCTION midi.file_details(bigint) IS
    'One file with metadata, category, favorite, rating, tags, instruments and all its paths';

/* duplicates_of: every location where the content of a file was seen (files holds one row per distinct
   content, so byte-identical copies are these paths), canonical path first, then by path. */
CREATE OR REPLACE FUNCTION midi.duplicates_of(file_id bigint)
RETURNS TABLE (path text, is_canonical boolean, first_seen timestamptz, last_seen timestamptz, missing_since timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT p.path::text, p.path = f.filepath, p.first_seen, p.last_seen, p.missing_since
      FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id
     WHERE f.id = duplicates_of.file_id
     ORDER BY p.path = f.filepath DESC, p.path
$$;
COMMENT ON FUNCTION midi.duplicates_of(bigint) IS
    'Every path holding the same content as the file (byte-identical copies), canonical first';

-- ---------------------------------------------------------------------------------- library views

/* refresh_views: refreshes the library statistics and facet views without blocking readers
   (CONCURRENTLY); run at the end of import and analysis. SECURITY DEFINER because only the owner may
   refresh a materialized view; it takes no input. Returns the number of views refreshed. */
CREATE OR REPLACE FUNCTION midi.refresh_views() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.library_stats;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.manufacturer_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.collection_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.key_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.category_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.bpm_bucket_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.tag_counts;
    RETURN 7;
END;
$$;
COMMENT ON FUNCTION midi.refresh_views() IS
    'Refreshes library_stats and the facet views (manufacturer, collection, key, category, bpm bucket, tag) concurrently';
REVOKE ALL ON FUNCTION midi.refresh_views() FROM PUBLIC;
