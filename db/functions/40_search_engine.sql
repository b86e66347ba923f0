-- The search engine: the resolved filter set, the planner's estimates, and the queries one search runs.
-- Its text queries (midi.parse_query and the relevance tiers) are in 37_search_text.sql, the WHERE clause
-- of a resolved filter set (midi._search_where) in 38_search_where.sql.
--
-- midi.search, midi.search_count and midi.facets share one filter set (type midi.search_filters). They
-- build their SQL from fixed fragments, one per filter that is set, and pass every value as the single
-- parameter $1 (type midi._search_args): no user text ever becomes SQL, and each call is planned for
-- the filters it really has, so every shape can use its own index instead of one catch-all plan.

-- ---------------------------------------------------------------------------------- search engine

/* _search_args: resolves a filter set once per call: parses q, restricts it per relevance tier, expands
   compatible_key, turns tag names into ids (an unknown tag matches nothing), splits the time signature,
   computes the tempo ranges and decodes the keyset cursor. Raises invalid_parameter_value (22023) with a
   one-line reason on a bad sort, time signature or cursor. */
CREATE OR REPLACE FUNCTION midi._search_args(flt midi.search_filters, sort text DEFAULT NULL, after text DEFAULT NULL)
RETURNS midi._search_args
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: may ask the planner (EXPLAIN) how broad the text query is
DECLARE
    a midi._search_args;
    ts text[];
    cur jsonb;
BEGIN
    flt.q := midi._clip_query(flt.q);
    a.f := flt;
    -- the yes/no filters: not given (NULL) is no
    a.f.bpm_halfdouble := coalesce(flt.bpm_halfdouble, false);
    a.f.favorites_only := coalesce(flt.favorites_only, false);
    a.f.fuzzy := coalesce(flt.fuzzy, false);
    IF NOT (a.f).fuzzy THEN
        a.tsq := midi.parse_query(flt.q);
        IF a.tsq IS NOT NULL THEN
            a.tsq_a := midi._tsquery_in(a.tsq, 'A');
            -- The GIN index finds a rare word's files in microseconds, but turning a broad word's
            -- hundred thousand postings into a bitmap costs tens of milliseconds (and the planner prices
            -- it as nearly free): above 10,000 estimated matches the text test becomes a filter, and the
            -- query reads the newest-first index, or another filter's index, instead. The estimates come
            -- from the word statistics (midi.search_words: a few index probes); a library never sampled
            -- asks the planner (an EXPLAIN each).
            -- (midi._search_plan refines both choices for a search: its sort, page size and other filters)
            SELECT t.files, t.name_files INTO a.text_rows, a.name_rows FROM midi._text_rows(a.tsq) t;
            IF a.text_rows IS NULL THEN
                a.text_rows := midi._estimate_text_rows(a);
                a.name_rows := midi._estimate_text_rows(a, in_names => true);
            END IF;
            a.text_indexed := a.text_rows <= 10000;
            -- the same for the file-name words (the first relevance tier) of a broad word
            a.name_indexed := a.text_indexed OR a.name_rows <= 10000;
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

/* _estimate_rows / _estimate_text_rows: the planner's estimate of how many files a resolved filter set
   matches: all its filters but the skipped dimension (see _search_where), or its text query alone, over the
   whole search document or over the file-name words. An EXPLAIN of a one-table query: about 0.1 ms, no
   rows read. Neither takes SQL text: the WHERE clause is built here from the fixed fragments of
   _search_where, so no caller can hand its own SQL to the EXECUTE (the roles may run these). */
DROP FUNCTION IF EXISTS midi._estimate_rows(text, midi._search_args);  -- took a WHERE clause as text
CREATE OR REPLACE FUNCTION midi._estimate_rows(a midi._search_args, skip text DEFAULT NULL) RETURNS double precision
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: STABLE code may not run EXPLAIN
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM midi.files f WHERE ' || midi._search_where(a, skip) INTO plan USING a;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
END;
$$;
COMMENT ON FUNCTION midi._estimate_rows(midi._search_args, text) IS
    'Internal: planner estimate of the files matching a resolved filter set (optionally without one dimension)';

/* _estimate_text_rows: see _estimate_rows. */
CREATE OR REPLACE FUNCTION midi._estimate_text_rows(a midi._search_args, in_names boolean DEFAULT false)
RETURNS double precision
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: STABLE code may not run EXPLAIN
DECLARE
    plan json;
BEGIN
    -- dynamic (with constant text) so the planner sees the query's value, as in a one-shot plan
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM midi.files f WHERE '
            || CASE WHEN in_names THEN 'midi.name_tsvector(f.filename) @@ ($1).tsq' ELSE 'f.search_vector @@ ($1).tsq' END
       INTO plan USING a;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
END;
$$;
COMMENT ON FUNCTION midi._estimate_text_rows(midi._search_args, boolean) IS
    'Internal: planner estimate of the files matching a search''s text query (whole document or file names)';

/* _filter_rows: estimated files matching a resolved filter set (but the skipped dimension, see
   _search_where) without planning: the text query from the word statistics (_text_rows, already in the
   resolved set), keys, tempo, manufacturers, collections, categories and tags from the facet views of the
   last midi.refresh_views(), combined as independent (as the planner would). NULL when a filter is set
   that the views do not count (duration, notes, time signature, percussive, favorites, rating, fuzzy) or
   the library was never sampled: then the caller asks the planner (_estimate_rows). */
CREATE OR REPLACE FUNCTION midi._filter_rows(a midi._search_args, skip text DEFAULT NULL) RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
DECLARE
    n double precision;
    sel double precision := 1;
    x double precision;
BEGIN
    IF (a.f).fuzzy OR a.ts_num IS NOT NULL OR (a.f).duration_min IS NOT NULL OR (a.f).duration_max IS NOT NULL
       OR (a.f).notes_min IS NOT NULL OR (a.f).notes_max IS NOT NULL OR (a.f).percussive IS NOT NULL
       OR (a.f).favorites_only OR (a.f).min_rating IS NOT NULL
       OR NOT EXISTS (SELECT 1 FROM midi.search_word_sample) THEN
        RETURN NULL;
    END IF;
    SELECT l.files INTO n FROM midi.library_stats l;
    IF coalesce(n, 0) = 0 THEN
        RETURN NULL;
    END IF;
    IF a.tsq IS NOT NULL AND skip IS DISTINCT FROM 'text' THEN
        sel := sel * least(1, a.text_rows / n);
    END IF;
    IF a.key_set IS NOT NULL AND skip IS DISTINCT FROM 'key' THEN
        SELECT coalesce(sum(k.files), 0) INTO x FROM midi.key_counts k WHERE k.key = ANY (a.key_set);
        sel := sel * least(1, x / n);
    END IF;
    IF a.bpm_ranges IS NOT NULL AND skip IS DISTINCT FROM 'bpm' THEN
        -- a range covers its share of each 10-BPM bucket it overlaps (its upper tempo counted whole)
        SELECT coalesce(sum(b.files * greatest(0, least(upper(r) + 1, b.bucket + 10) - greatest(lower(r), b.bucket)) / 10), 0)
          INTO x FROM midi.bpm_bucket_counts b, unnest(a.bpm_ranges) r
         WHERE b.bucket + 10 > lower(r) AND b.bucket <= upper(r);
        sel := sel * least(1, x / n);
    END IF;
    IF (a.f).manufacturer IS NOT NULL AND skip IS DISTINCT FROM 'manufacturer' THEN
        SELECT coalesce(sum(m.files), 0) INTO x FROM midi.manufacturer_counts m WHERE m.manufacturer = ANY ((a.f).manufacturer);
        sel := sel * least(1, x / n);
    END IF;
    IF (a.f).collection IS NOT NULL AND skip IS DISTINCT FROM 'collection' THEN
        SELECT coalesce(sum(c.files), 0) INTO x FROM midi.collection_counts c WHERE c.collection_name = ANY ((a.f).collection);
        sel := sel * least(1, x / n);
    END IF;
    IF (a.f).categories IS NOT NULL AND skip IS DISTINCT FROM 'category' THEN
        SELECT coalesce(sum(c.files), 0) INTO x FROM midi.category_counts c WHERE c.category = ANY ((a.f).categories);
        sel := sel * least(1, x / n);
    END IF;
    IF a.tag_all_ids IS NOT NULL AND skip IS DISTINCT FROM 'tag' THEN
        SELECT exp(sum(ln(least(1, greatest(coalesce(t.files, 0), 1e-9) / n)))) INTO x
          FROM unnest(a.tag_all_ids) i LEFT JOIN midi.tag_counts t ON t.tag_id = i;
        sel := sel * coalesce(x, 1);
    END IF;
    IF a.tag_any_ids IS NOT NULL AND skip IS DISTINCT FROM 'tag' THEN
        SELECT 1 - exp(sum(ln(greatest(1e-9, 1 - least(1, coalesce(t.files, 0) / n))))) INTO x
          FROM unnest(a.tag_any_ids) i LEFT JOIN midi.tag_counts t ON t.tag_id = i;
        sel := sel * coalesce(x, 0);
    END IF;
    RETURN n * sel;
END;
$$;
COMMENT ON FUNCTION midi._filter_rows(midi._search_args, text) IS
    'Internal: estimated files matching a resolved filter set from the word statistics and facet views, no planning; NULL when not countable so';

/* _estimate_matches: estimated files matching a resolved filter set (but the skipped dimension): the
   cheap estimate (_filter_rows) when there is one, else the planner's (_estimate_rows). */
CREATE OR REPLACE FUNCTION midi._estimate_matches(a midi._search_args, skip text DEFAULT NULL) RETURNS double precision
LANGUAGE sql VOLATILE AS $$  -- VOLATILE: the fallback runs EXPLAIN
    SELECT coalesce(midi._filter_rows(a, skip), midi._estimate_rows(a, skip))
$$;
COMMENT ON FUNCTION midi._estimate_matches(midi._search_args, text) IS
    'Internal: estimated files matching a resolved filter set: from statistics when possible, else the planner''s estimate';

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
    tier text := 'CASE WHEN f.search_vector @@ ($1).tsq_a THEN 1 ELSE 2 END';
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
            -- Tier 1 (the file name holds every word) is either found by the file-name word index
            -- (midi.name_tsvector, the unweighted weight-A part of search_vector: a word rare in names, such
            -- as a manufacturer's name), or tested on each file of a newest-first or other filter's scan as
            -- the weight-A test, written "IS TRUE" so the index is not asked (a bitmap of a word common in
            -- names costs more than the planner thinks; _search_plan chooses). Tier 2 is the rest of the
            -- matches: the text test and not the weight-A test (_outside_name). (Tier 1 leaves the text test out: a name
            -- match is a text match, and the planner would multiply the two as if they were independent.)
            seg_cond := ARRAY[CASE WHEN a.name_indexed THEN 'midi.name_tsvector(f.filename) @@ ($1).tsq'
                                   ELSE '(f.search_vector @@ ($1).tsq_a) IS TRUE' END,
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

/* _search_plan: how a search with a text query runs, chosen by a cost model over the estimates (word
   statistics and facet views: no planning). A text query is answered either by its GIN index (a bitmap of
   every posting of its words: about 0.2 us a posting, then one heap visit of 0.7 us per match) or as a
   filter on an ordered scan of the other filters' candidates (1.5 us a candidate: a heap visit and the
   test), which stops when the page is full. The same choice is made for the file-name words of the first
   relevance tier, and a relevance search either ranks all its matches in one query (cheapest when the
   first tier cannot fill the page: the tier walk would read the candidates twice) or walks the tiers
   newest-first. Returns the resolved filters with text_indexed and name_indexed set, and whether to rank.
   want is the number of rows the page needs (or a count's cap + 1). */
CREATE OR REPLACE FUNCTION midi._search_plan(a midi._search_args, sort text, want integer,
                                             OUT args midi._search_args, OUT ranked boolean)
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: may ask the planner (EXPLAIN) about filters the views do not count
DECLARE
    n double precision;
    cand double precision;   -- files matching the filters but the text query
    m double precision;      -- ... and the text query
    m1 double precision;     -- ... with every word in the file name (first relevance tier)
    gin double precision;    -- cost of the text query through its index
    scan double precision;   -- cost of the text query as a filter until the page is full
    tiers double precision;
    flat double precision;
BEGIN
    args := a;
    ranked := false;
    IF a.tsq IS NULL THEN
        RETURN;
    END IF;
    SELECT s.files INTO n FROM midi.search_word_sample s;
    IF n IS NULL THEN  -- never sampled: the planner's count of the table
        SELECT c.reltuples INTO n FROM pg_catalog.pg_class c WHERE c.oid = 'midi.files'::regclass;
    END IF;
    n := greatest(n, a.text_rows, 1);
    IF a.key_set IS NULL AND a.bpm_ranges IS NULL AND a.tag_all_ids IS NULL AND a.tag_any_ids IS NULL
       AND a.ts_num IS NULL AND (a.f).manufacturer IS NULL AND (a.f).collection IS NULL
       AND (a.f).categories IS NULL AND (a.f).duration_min IS NULL AND (a.f).duration_max IS NULL
       AND (a.f).notes_min IS NULL AND (a.f).notes_max IS NULL AND (a.f).percussive IS NULL
       AND NOT (a.f).favorites_only AND (a.f).min_rating IS NULL THEN
        cand := n;  -- no other filter
    ELSE
        cand := greatest(midi._estimate_matches(a, 'text'), 1);
    END IF;
    m := cand * least(1, a.text_rows / n);
    m1 := cand * least(1, coalesce(a.name_rows, a.text_rows) / n);
    -- the text query in general (every sort, the second relevance tier, counts)
    gin := a.text_rows * 0.2 + m * 0.7;
    scan := 1.5 * CASE WHEN m < want THEN cand ELSE want * cand / m END;
    args.text_indexed := gin < scan;
    IF midi._search_sort(a, sort) <> 'relevance' THEN
        RETURN;
    END IF;
    -- tier 1, on the file-name words
    args.name_indexed := coalesce(a.name_rows, a.text_rows) * 0.2 + m1 * 0.7
                         < 1.5 * CASE WHEN m1 < want THEN cand ELSE want * cand / m1 END;
    tiers := least(coalesce(a.name_rows, a.text_rows) * 0.2 + m1 * 0.7,
                   1.5 * CASE WHEN m1 < want THEN cand ELSE want * cand / m1 END);
    IF m1 < want THEN  -- tier 2 runs too
        tiers := tiers + least(gin, 1.5 * CASE WHEN m - m1 < want - m1 THEN cand
                                               ELSE (want - m1) * cand / greatest(m - m1, 1) END);
    END IF;
    -- one ranked query: every match (through the index, or every candidate tested), then a sort
    flat := CASE WHEN args.text_indexed THEN gin ELSE 1.5 * cand END + 0.05 * m;
    ranked := flat < tiers;
END;
$$;
COMMENT ON FUNCTION midi._search_plan(midi._search_args, text, integer) IS
    'Internal: a text search''s strategy from the estimates: text and name words through their index or as filters, ranked or tier by tier';

/* _search: runs the queries of a search until the page is full, without parallel workers. */
CREATE OR REPLACE FUNCTION midi._search(a midi._search_args, sort text, lim integer) RETURNS SETOF midi.search_hit
LANGUAGE plpgsql VOLATILE  -- VOLATILE: may ask the planner for an estimate; reads only
-- a page is a few index probes: starting parallel workers would cost more than it saves, and with many
-- clients at once it takes their cores
SET max_parallel_workers_per_gather = 0 SET jit = off AS $$
DECLARE
    want integer;
    got integer;
    q text;
    plan record;
    ranked boolean;
BEGIN
    IF lim IS NOT NULL AND lim < 1 THEN
        RAISE EXCEPTION 'lim must be at least 1, not %', lim USING ERRCODE = 'invalid_parameter_value';
    END IF;
    want := least(coalesce(lim, 50), 500);
    plan := midi._search_plan(a, sort, want);
    a := plan.args;
    ranked := plan.ranked;
    FOREACH q IN ARRAY midi._search_sql(a, sort, ranked) LOOP
        RETURN QUERY EXECUTE q USING a, want;
        GET DIAGNOSTICS got = ROW_COUNT;
        want := want - got;
        EXIT WHEN want <= 0;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi._search(midi._search_args, text, integer) IS
    'Internal: runs a search''s queries until lim rows are returned';
