-- What midi.search means to do with a set of arguments: its segments, and the indexes each one is meant
-- to read. `midicenter profile` judges every canonical call against this instead of a fixed index per
-- call; whoever changes how the engine (40_search_engine.sql) chooses its queries keeps this telling the
-- truth (db/tests/116_search_strategy.sql compares it with the plans midi.explain_search shows).

/* _strategy_indexes: the valid indexes of midi.files that serve a query: one whose leading key is one of
   `lookups` with a fitting access method (`methods`, position by position: 'btree' for an equality or
   range, 'gin' for a text or array match, 'trgm' for a trigram match), or a btree whose keys, after
   columns fixed to one value (`fixed`), start with `order_column` (it returns the rows in the query's
   order). Columns are compared as pg_get_indexdef prints an index's keys, schema names left out
   ('cached_key', 'name_tsvector(filename)'). It reads the catalog only: names in, names out, nothing
   is executed. */
CREATE OR REPLACE FUNCTION midi._strategy_indexes(lookups text[], methods text[], fixed text[], order_column text)
RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    WITH ix AS (
        SELECT c.relname::text AS name, am.amname::text AS method, i.indexrelid, i.indnkeyatts,
               regexp_replace(pg_get_indexdef(i.indexrelid, 1, true), '^[a-z_][a-z0-9_]*\.', '') AS lead,
               (SELECT o.opcname::text FROM pg_opclass o WHERE o.oid = i.indclass[0]) AS opclass
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_am am ON am.oid = c.relam
         WHERE i.indrelid = 'midi.files'::regclass AND i.indisvalid AND i.indisready)
    SELECT ix.name FROM ix
     WHERE EXISTS (SELECT 1 FROM unnest(lookups, methods) AS x(col, how)
                    WHERE ix.lead = x.col
                      AND CASE x.how WHEN 'btree' THEN ix.method = 'btree'
                                     WHEN 'gin' THEN ix.method IN ('gin', 'gist')
                                     WHEN 'trgm' THEN ix.method IN ('gin', 'gist') AND ix.opclass LIKE '%trgm%'
                                     ELSE false END)
        OR (order_column IS NOT NULL AND ix.method = 'btree'
            AND EXISTS (SELECT 1 FROM generate_series(1, ix.indnkeyatts) AS k
                         WHERE pg_get_indexdef(ix.indexrelid, k, true) = order_column
                           AND NOT EXISTS (SELECT 1 FROM generate_series(1, k - 1) AS j
                                            WHERE pg_get_indexdef(ix.indexrelid, j, true) <> ALL (coalesce(fixed, '{}')))))
     ORDER BY 1
$$;
COMMENT ON FUNCTION midi._strategy_indexes(text[], text[], text[], text) IS
    'Internal: valid indexes of midi.files that look up one of the given columns, or return rows in the given order';

/* search_strategy: how midi.search answers the same arguments, one row per segment and index meant:
     segment 0       the filter set alone: what midi.search_count and midi.facets read through;
     segment 1, 2 .. the queries midi.search runs, in output order, from the cursor's segment on (a later
                     segment runs only when the earlier ones did not fill the page).
   strategy names the segment's plan: 'filter' (segment 0); 'ranked' (few matches: all of them read
   through their filters' indexes and sorted by relevance tier); 'name tier' and 'other tier' (relevance
   walked newest first: files whose name holds every word, then the other matches); 'fuzzy' (trigram
   candidates of the file name, best first); 'newest', 'bpm', 'bpm, none', 'duration', 'duration, none',
   'name' (walks in that order; ', none' is the files without the value, by id).
   index_name is an index meant to serve the segment: one its conditions are looked up in (a text query
   only when the engine hands it to the index: a broad word is a filter on rows read otherwise; one key,
   manufacturer, collection or category value, a tempo or duration range, tags, a fuzzy name), or one that
   returns rows in the segment's order (after the columns a one-value filter fixes). Any of a segment's
   indexes serves it; NULL means none does and the segment reads the table as it is (a filter on every
   row, until the page is full or the count's cap is reached). Filters on the analysis tables
   (time_signature, notes, percussive), favorites_only and min_rating are tested per row and name no
   index. The same arguments as midi.search (and the same errors). */
SELECT pg_temp.declare_filtered('search_strategy',  -- named filters from midi.search_filters (41_search_api.sql)
    ARRAY['sort text DEFAULT NULL', 'lim integer DEFAULT 50', 'after text DEFAULT NULL'],
    'TABLE (segment integer, strategy text, index_name text)',
    'plpgsql VOLATILE',  -- VOLATILE: the engine's choices come from EXPLAIN estimates; reads only
    $$
DECLARE
    -- the same choices midi._search makes: the text query through its index or as a filter, ranked or not
    plan record := midi._search_plan(midi._search_args({filters}, sort, after), sort, least(coalesce(lim, 50), 500));
    a midi._search_args := plan.args;
    s text := midi._search_sort(a, sort);
    ranked boolean := plan.ranked;
    cols text[] := '{}';        -- the filters an index can look up (text and fuzzy apart), and how
    hows text[] := '{}';
    fixed text[] := '{}';       -- columns a one-value filter fixes
    text_cols text[] := '{}';   -- the text query, when the engine hands it to an index
    text_hows text[] := '{}';
    seg_names text[];
    seg_orders text[];
    first integer;
    names text[];
BEGIN
    IF a.key_set IS NOT NULL THEN
        cols := cols || 'cached_key'::text; hows := hows || 'btree'::text;
        IF cardinality(a.key_set) = 1 THEN fixed := fixed || 'cached_key'::text; END IF;
    END IF;
    IF (a.f).manufacturer IS NOT NULL THEN
        cols := cols || 'manufacturer'::text; hows := hows || 'btree'::text;
        IF cardinality((a.f).manufacturer) = 1 THEN fixed := fixed || 'manufacturer'::text; END IF;
    END IF;
    IF (a.f).collection IS NOT NULL THEN
        cols := cols || 'collection_name'::text; hows := hows || 'btree'::text;
        IF cardinality((a.f).collection) = 1 THEN fixed := fixed || 'collection_name'::text; END IF;
    END IF;
    IF (a.f).categories IS NOT NULL THEN
        cols := cols || 'cached_category'::text; hows := hows || 'btree'::text;
        IF cardinality((a.f).categories) = 1 THEN fixed := fixed || 'cached_category'::text; END IF;
    END IF;
    IF a.bpm_ranges IS NOT NULL THEN
        cols := cols || 'cached_bpm'::text; hows := hows || 'btree'::text;
    END IF;
    IF a.tag_all_ids IS NOT NULL OR a.tag_any_ids IS NOT NULL THEN
        cols := cols || 'tag_ids'::text; hows := hows || 'gin'::text;
    END IF;
    IF (a.f).duration_min IS NOT NULL OR (a.f).duration_max IS NOT NULL THEN
        cols := cols || 'duration_seconds'::text; hows := hows || 'btree'::text;
    END IF;
    IF a.tsq IS NOT NULL AND a.text_indexed THEN
        text_cols := ARRAY['search_vector']; text_hows := ARRAY['gin'];
    ELSIF a.tsq IS NULL AND (a.f).fuzzy AND (a.f).q IS NOT NULL THEN
        text_cols := ARRAY['filename']; text_hows := ARRAY['trgm'];
    END IF;

    -- segment 0: the whole filter set, in no order
    names := ARRAY(SELECT midi._strategy_indexes(cols || text_cols, hows || text_hows, fixed, NULL));
    RETURN QUERY SELECT 0, 'filter'::text, x FROM unnest(CASE WHEN names = '{}' THEN '{NULL}' ELSE names END) x;

    -- the segments of midi.search, as midi._search_sql builds them
    IF ranked THEN
        seg_names := ARRAY['ranked']; seg_orders := ARRAY[NULL::text];
    ELSIF s = 'relevance' AND a.tsq IS NULL THEN
        seg_names := ARRAY['fuzzy']; seg_orders := ARRAY[NULL::text];
    ELSE
        CASE s
            WHEN 'relevance' THEN seg_names := ARRAY['name tier', 'other tier']; seg_orders := ARRAY['created_at', 'created_at'];
            WHEN 'newest' THEN seg_names := ARRAY['newest']; seg_orders := ARRAY['created_at'];
            WHEN 'bpm' THEN seg_names := ARRAY['bpm', 'bpm, none']; seg_orders := ARRAY['cached_bpm', 'id'];
            WHEN 'duration' THEN seg_names := ARRAY['duration', 'duration, none']; seg_orders := ARRAY['duration_seconds', 'id'];
            WHEN 'name' THEN seg_names := ARRAY['name']; seg_orders := ARRAY['filename'];
        END CASE;
    END IF;
    first := CASE WHEN ranked OR seg_names[1] = 'fuzzy' THEN 1 ELSE coalesce(a.cur_seg, 1) END;
    FOR i IN first .. cardinality(seg_names) LOOP
        IF seg_names[i] = 'name tier' THEN
            -- the name tier tests the file-name words instead of the text query: by their index when the
            -- words are rare in names, else as a filter on the newest-first walk
            names := ARRAY(SELECT midi._strategy_indexes(
                               cols || CASE WHEN a.name_indexed THEN ARRAY['name_tsvector(filename)'] ELSE '{}' END,
                               hows || CASE WHEN a.name_indexed THEN ARRAY['gin'] ELSE '{}' END, fixed, seg_orders[i]));
        ELSE
            names := ARRAY(SELECT midi._strategy_indexes(cols || text_cols, hows || text_hows, fixed, seg_orders[i]));
        END IF;
        RETURN QUERY SELECT i, seg_names[i], x FROM unnest(CASE WHEN names = '{}' THEN '{NULL}' ELSE names END) x;
    END LOOP;
END;
$$,
    'How midi.search answers the same arguments: per segment (0 = the filter set alone), the strategy and the indexes meant to serve it (NULL: none)');
