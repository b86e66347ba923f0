-- Facet counts under a filter set: OR within a facet, AND across; the unfiltered counts come from the
-- materialized views, selective filters are counted exactly, broad ones from a sample.

/* _has_filter: whether a filter set restricts anything (facets read the materialized views when not):
   whether its WHERE clause has any condition. */
CREATE OR REPLACE FUNCTION midi._has_filter(a midi._search_args) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT midi._search_where(a) <> 'true'
$$;
COMMENT ON FUNCTION midi._has_filter(midi._search_args) IS 'Internal: whether any filter is set';

/* _facet_sql: one query counting the given facet dimensions over the files matching a resolved filter
   set without its skipped dimension (the WHERE clause of _search_where, values from $1): the matching rows
   are read once (only the columns the dimensions need, so an index-only scan can serve them), then grouped
   per dimension; top $2 values per dimension. With sampled, the rows come from a repeatable page sample of
   $3 percent of the table and the counts are scaled up. It takes no SQL text: dims and skip only select
   among fixed fragments. */
DROP FUNCTION IF EXISTS midi._facet_sql(text[], text, boolean);  -- took a WHERE clause as text
CREATE OR REPLACE FUNCTION midi._facet_sql(a midi._search_args, dims text[], skip text, sampled boolean DEFAULT false)
RETURNS text
LANGUAGE sql STABLE AS $$
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
        || ' WHERE ' || midi._search_where(a, skip) || E')\n'
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
COMMENT ON FUNCTION midi._facet_sql(midi._search_args, text[], text, boolean) IS
    'Internal: SQL counting facet dimensions over the files matching a filter set but one dimension (or a page sample), top $2 values each';

/* _facet_query: runs one facet query, exactly when its filters match few files or an index answers it
   cheaply, else over a page sample. Counting N matches from the table costs a random page read each; a
   sample that finds 5,000 of them reads 5,000 / N of the table's pages in order, and its larger counts
   are within a few percent (the counts the panel shows first). Above 20,000 estimated matches the
   planner's costs of both plans decide; the sample is sized to find about 5,000 matches. */
CREATE OR REPLACE FUNCTION midi._facet_query(a midi._search_args, dims text[], skip text, lim integer)
RETURNS TABLE (facet text, value text, files bigint, exact boolean)
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE: EXPLAIN estimates; reads only
DECLARE
    est double precision := midi._estimate_matches(a, skip);
    exact_sql text := midi._facet_sql(a, dims, skip);
    sample_sql text;
    pct real;
    exact_plan json;
    sample_plan json;
BEGIN
    IF est > 20000 THEN
        pct := least(100, 100 * 5000 / est);
        sample_sql := midi._facet_sql(a, dims, skip, true);
        EXECUTE 'EXPLAIN (FORMAT JSON) ' || exact_sql INTO exact_plan USING a, lim;
        EXECUTE 'EXPLAIN (FORMAT JSON) ' || sample_sql INTO sample_plan USING a, lim, pct;
        IF (sample_plan -> 0 -> 'Plan' ->> 'Total Cost')::float8 < (exact_plan -> 0 -> 'Plan' ->> 'Total Cost')::float8 THEN
            RETURN QUERY EXECUTE sample_sql USING a, lim, pct;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY EXECUTE exact_sql USING a, lim;
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
   bound) and tag under the current filters (the same filters as midi.search, named or as JSON). Inside a
   dimension values combine with OR, dimensions with AND: each dimension is counted under all filters
   except its own, so ticking a second key widens the key list instead of emptying it. With no filter at all the counts
   come from the materialized views (as fresh as the last midi.refresh_views()). When a dimension's
   filters match a large part of the library its counts are estimated from a repeatable page sample
   (exact = false), so a facet panel never reads hundreds of thousands of rows. */
SELECT pg_temp.declare_filtered('facets',  -- named filters from midi.search_filters (41_search_api.sql)
    ARRAY['facet_limit integer DEFAULT 20'],
    'TABLE (facet text, value text, files bigint, exact boolean)',
    'sql VOLATILE',  -- VOLATILE: plans with EXPLAIN estimates; reads only
    $$
    SELECT x.facet, x.value, x.files, x.exact FROM midi._facets(midi._search_args({filters}), facet_limit) AS x
     ORDER BY array_position(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'], x.facet),
              x.files DESC, x.value
$$,
    'Facet counts (manufacturer, collection, key, category, bpm bucket, tag) under the filters: OR within a facet, AND across; exact = false when sampled');
