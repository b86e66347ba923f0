-- The WHERE clause of a resolved filter set: midi._search_where builds it from fixed fragments, one per
-- filter that is set, which read their values from parameter $1 (type midi._search_args, migration 0006),
-- so no user text ever becomes SQL; and midi._trgm_schema, the schema pg_trgm lives in, which the fuzzy
-- file-name fragment names. A new filter gets its fragment here (docs/development.md). Used by the
-- search engine (40_search_engine.sql: the queries of a search, and the estimates) and midi.facets.

/* _trgm_schema: the schema pg_trgm lives in (midi unless the database already had it elsewhere). */
CREATE OR REPLACE FUNCTION midi._trgm_schema() RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'
$$;
COMMENT ON FUNCTION midi._trgm_schema() IS 'Internal: schema of the pg_trgm extension';

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
