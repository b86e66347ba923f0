-- The user's writes to the library: favorites, ratings, tags and saved searches (plus the reads that
-- list them). The write functions run with the caller's rights: midi_writer holds the table privileges,
-- midi_reader holds neither those nor EXECUTE on these functions (90_grants.sql).

/* _require_file: raises no_data_found (P0002) unless the file exists, so a write on a wrong id says so
   in one line instead of a foreign-key message. */
CREATE OR REPLACE FUNCTION midi._require_file(file_id bigint) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM midi.files f WHERE f.id = file_id) THEN
        RAISE EXCEPTION 'no file with id %', file_id USING ERRCODE = 'no_data_found';
    END IF;
END;
$$;
COMMENT ON FUNCTION midi._require_file(bigint) IS 'Internal: raises no_data_found unless the file exists';

-- ------------------------------------------------------------------------------------- favorites

/* favorite_add: marks a file as favorite; true when it was not one before. */
CREATE OR REPLACE FUNCTION midi.favorite_add(file_id bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    PERFORM midi._require_file(file_id);
    INSERT INTO midi.favorites (file_id) VALUES (favorite_add.file_id) ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END;
$$;
COMMENT ON FUNCTION midi.favorite_add(bigint) IS 'Marks a file as favorite; true if it was not one before';

/* favorite_remove: unmarks a favorite; true when it was one. */
CREATE OR REPLACE FUNCTION midi.favorite_remove(file_id bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    PERFORM midi._require_file(file_id);
    DELETE FROM midi.favorites fv WHERE fv.file_id = favorite_remove.file_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END;
$$;
COMMENT ON FUNCTION midi.favorite_remove(bigint) IS 'Removes a file from the favorites; true if it was one';

/* favorite_toggle: flips a file's favorite mark; returns the new state. */
CREATE OR REPLACE FUNCTION midi.favorite_toggle(file_id bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF midi.favorite_remove(file_id) THEN
        RETURN false;
    END IF;
    PERFORM midi.favorite_add(file_id);
    RETURN true;
END;
$$;
COMMENT ON FUNCTION midi.favorite_toggle(bigint) IS 'Flips a file''s favorite mark; returns true if it is now a favorite';

-- --------------------------------------------------------------------------------------- ratings

/* rate: sets a file's rating (1..5 stars); NULL or 0 clears it. Returns the rating now held. */
CREATE OR REPLACE FUNCTION midi.rate(file_id bigint, rating integer) RETURNS smallint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM midi._require_file(file_id);
    IF coalesce(rating, 0) = 0 THEN
        DELETE FROM midi.ratings r WHERE r.file_id = rate.file_id;
        RETURN NULL;
    END IF;
    IF rating NOT BETWEEN 1 AND 5 THEN
        RAISE EXCEPTION 'rating must be 1..5 (0 clears), not %', rating USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO midi.ratings AS r (file_id, rating) VALUES (rate.file_id, rate.rating)
    ON CONFLICT ON CONSTRAINT ratings_pkey DO UPDATE SET rating = EXCLUDED.rating, rated_at = now()
        WHERE r.rating IS DISTINCT FROM EXCLUDED.rating;
    RETURN rating::smallint;
END;
$$;
COMMENT ON FUNCTION midi.rate(bigint, integer) IS 'Sets a file''s 1..5 rating (NULL or 0 clears); returns the rating';

-- ------------------------------------------------------------------------------------------ tags

/* _tag_name: the canonical spelling of a tag name (trimmed, lower case); raises on an empty name. */
CREATE OR REPLACE FUNCTION midi._tag_name(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF nullif(btrim(name), '') IS NULL THEN
        RAISE EXCEPTION 'a tag name cannot be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN lower(btrim(name));
END;
$$;
COMMENT ON FUNCTION midi._tag_name(text) IS 'Internal: canonical tag name (trimmed, lower case); empty is an error';

/* tag: attaches tags to a file (creating tags that do not exist yet) as the user's own
   (file_tags.source = 'user'). Returns how many were newly attached. */
CREATE OR REPLACE FUNCTION midi.tag(file_id bigint, VARIADIC names text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    wanted text[];
    n integer;
BEGIN
    PERFORM midi._require_file(file_id);
    wanted := ARRAY(SELECT DISTINCT midi._tag_name(x) FROM unnest(names) x ORDER BY 1);
    INSERT INTO midi.tags (name) SELECT w FROM unnest(wanted) w ORDER BY w ON CONFLICT ON CONSTRAINT tags_name_key DO NOTHING;
    INSERT INTO midi.file_tags (file_id, tag_id, source)
    SELECT tag.file_id, t.id, 'user' FROM midi.tags t WHERE t.name = ANY (wanted) ORDER BY t.id
    ON CONFLICT ON CONSTRAINT file_tags_pkey DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi.tag(bigint, text[]) IS 'Attaches tags (created if new) to a file as user tags; returns how many were new';

/* untag: detaches the user's tags of those names from a file. Returns how many were detached. The tags a
   file's facts give (category, tempo, key, manufacturer, genres: midi.derive_tags) are computed, not
   attached: they follow the facts. */
CREATE OR REPLACE FUNCTION midi.untag(file_id bigint, VARIADIC names text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    PERFORM midi._require_file(file_id);
    DELETE FROM midi.file_tags ft USING midi.tags t
     WHERE ft.file_id = untag.file_id AND ft.tag_id = t.id
       AND t.name = ANY (ARRAY(SELECT midi._tag_name(x) FROM unnest(names) x));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi.untag(bigint, text[]) IS 'Detaches user tags from a file; returns how many were detached';

/* tag_rename: renames a tag everywhere (the files' search words follow by trigger). Renaming onto an
   existing tag is an error: that is tag_merge. Returns the tag's id. A tag the files' facts give them
   (midi.derive_tags) is given again under the name their facts say: the new name stays with the users'
   tags. */
CREATE OR REPLACE FUNCTION midi.tag_rename(old_name text, new_name text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
BEGIN
    SELECT t.id INTO tid FROM midi.tags t WHERE t.name = midi._tag_name(old_name) FOR UPDATE;
    IF tid IS NULL THEN
        RAISE EXCEPTION 'no tag named %', old_name USING ERRCODE = 'no_data_found';
    END IF;
    IF midi._tag_name(new_name) <> midi._tag_name(old_name)
       AND EXISTS (SELECT 1 FROM midi.tags t WHERE t.name = midi._tag_name(new_name)) THEN
        RAISE EXCEPTION 'tag % already exists; use midi.tag_merge to merge into it', midi._tag_name(new_name)
            USING ERRCODE = 'unique_violation';
    END IF;
    UPDATE midi.tags SET name = midi._tag_name(new_name) WHERE id = tid AND name <> midi._tag_name(new_name);
    RETURN tid;
END;
$$;
COMMENT ON FUNCTION midi.tag_rename(text, text) IS 'Renames a tag everywhere; returns its id (merging is tag_merge)';

/* tag_merge: folds the source tags into the target tag (created if missing): every file a user gave a
   source tag carries the target instead, and the source tags are deleted. Returns how many files gained
   the target tag. A tag the files' facts give them is given again by their facts (midi.derive_tags). */
CREATE OR REPLACE FUNCTION midi.tag_merge(sources text[], target text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    target_id bigint;
    source_ids bigint[];
    n integer;
BEGIN
    INSERT INTO midi.tags (name) VALUES (midi._tag_name(target)) ON CONFLICT ON CONSTRAINT tags_name_key DO NOTHING;
    SELECT t.id INTO target_id FROM midi.tags t WHERE t.name = midi._tag_name(target);
    source_ids := ARRAY(SELECT t.id FROM midi.tags t
                         WHERE t.name = ANY (ARRAY(SELECT midi._tag_name(x) FROM unnest(sources) x))
                           AND t.id <> target_id ORDER BY t.id FOR UPDATE);
    INSERT INTO midi.file_tags (file_id, tag_id, source)
    SELECT ft.file_id, target_id,
           CASE WHEN bool_or(ft.source = 'user') THEN 'user' ELSE min(ft.source) END
      FROM midi.file_tags ft WHERE ft.tag_id = ANY (source_ids)
     GROUP BY ft.file_id ORDER BY ft.file_id
    ON CONFLICT ON CONSTRAINT file_tags_pkey DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM midi.tags t WHERE t.id = ANY (source_ids);
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi.tag_merge(text[], text) IS
    'Merges source tags into the target tag (created if missing) and deletes them; returns files that gained the target';

/* tag_list: the tags of one file with their source ('user': a user gave it; 'analysis' or 'path': its
   facts give it, see midi.derive_tags), or (file_id NULL) every tag with the number of files that carry
   it, most used first. Both read files.tag_ids, as tag filters and facets do. */
CREATE OR REPLACE FUNCTION midi.tag_list(file_id bigint DEFAULT NULL)
RETURNS TABLE (tag text, category text, source text, files bigint)
LANGUAGE sql STABLE AS $$
    (SELECT t.name, t.category, coalesce(ft.source, d.source), NULL::bigint
       FROM midi.files f
            CROSS JOIN LATERAL unnest(f.tag_ids) AS x(tag_id)
            JOIN midi.tags t ON t.id = x.tag_id
            LEFT JOIN midi.file_tags ft ON ft.file_id = f.id AND ft.tag_id = t.id
            LEFT JOIN midi.derive_tags(ARRAY[f.id]) d ON d.name = t.name
      WHERE tag_list.file_id IS NOT NULL AND f.id = tag_list.file_id
      ORDER BY 1)
    UNION ALL
    (SELECT t.name, t.category, NULL, coalesce(c.files, 0)
       FROM midi.tags t
            LEFT JOIN (SELECT x.tag_id, count(*) AS files
                         FROM midi.files f CROSS JOIN LATERAL unnest(f.tag_ids) AS x(tag_id)
                        GROUP BY x.tag_id) c ON c.tag_id = t.id
      WHERE tag_list.file_id IS NULL
      ORDER BY 4 DESC, 1)
$$;
COMMENT ON FUNCTION midi.tag_list(bigint) IS 'Tags of one file (with their source), or all tags with file counts';

-- ------------------------------------------------------------------------------- saved searches

/* saved_search_save: stores (or replaces) a named search: a JSON object of midi.search arguments, the
   filters plus optionally "sort", named as the function names them. Unknown keys, wrong types, a bad
   sort or time signature are rejected now, not when the search runs. Returns the saved search's id. */
CREATE OR REPLACE FUNCTION midi.saved_search_save(name text, filters jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    sid bigint;
BEGIN
    PERFORM midi._search_args(midi._filters(coalesce(filters, 'null'), NULL, '{sort}'), filters ->> 'sort');
    INSERT INTO midi.saved_searches AS s (name, filters) VALUES (btrim(saved_search_save.name), filters)
    ON CONFLICT ON CONSTRAINT saved_searches_name_key
        DO UPDATE SET filters = EXCLUDED.filters, updated_at = now()
    RETURNING s.id INTO sid;
    RETURN sid;
END;
$$;
COMMENT ON FUNCTION midi.saved_search_save(text, jsonb) IS
    'Saves or replaces a named search (JSON object of midi.search arguments); returns its id';

/* saved_search_run: one page of a saved search, exactly as midi.search would return it. */
CREATE OR REPLACE FUNCTION midi.saved_search_run(name text, lim integer DEFAULT 50, after text DEFAULT NULL)
RETURNS SETOF midi.search_hit
LANGUAGE plpgsql VOLATILE AS $$  -- VOLATILE like midi.search (EXPLAIN estimates); reads only
DECLARE
    flt jsonb;
BEGIN
    SELECT s.filters INTO flt FROM midi.saved_searches s WHERE s.name = btrim(saved_search_run.name);
    IF flt IS NULL THEN
        RAISE EXCEPTION 'no saved search named %', name USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY SELECT * FROM midi._search(
        midi._search_args(midi._filters(flt, NULL, '{sort}'), flt ->> 'sort', after),
        flt ->> 'sort', lim);
END;
$$;
COMMENT ON FUNCTION midi.saved_search_run(text, integer, text) IS 'One page of a saved search (as midi.search returns it)';

/* saved_search_list: every saved search with its arguments, by name. */
CREATE OR REPLACE FUNCTION midi.saved_search_list()
RETURNS TABLE (name text, filters jsonb, created_at timestamptz, updated_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT s.name, s.filters, s.created_at, s.updated_at FROM midi.saved_searches s ORDER BY s.name
$$;
COMMENT ON FUNCTION midi.saved_search_list() IS 'All saved searches with their arguments, by name';

/* saved_search_delete: forgets a saved search; true when it existed. */
CREATE OR REPLACE FUNCTION midi.saved_search_delete(name text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM midi.saved_searches s WHERE s.name = btrim(saved_search_delete.name);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END;
$$;
COMMENT ON FUNCTION midi.saved_search_delete(text) IS 'Deletes a saved search; true if it existed';
