-- Denormalized search columns of midi.files, kept true by triggers: cached_bpm and cached_key (from
-- musical_metadata, else from the file name), cached_category (file_categories), tag_ids (file_tags), and
-- the weight-D part of search_vector (tag, category and instrument names). Filename (A), manufacturer and
-- collection (B) and folder tags (C) stay as 10_util.sql computes them.
--
-- The child-table triggers are statement-level with transition tables: one set-based UPDATE of files per
-- statement, not one per row. A bulk writer that touches several child tables of the same files (analysis)
-- may SET LOCAL midi.defer_sync = 'on' and call midi.sync_files(ids) once at the end instead.

/* _search_columns: the denormalized search columns of the given files, from their own and their child
   rows: cached_bpm and cached_key (musical_metadata, else what the file name states), cached_category
   (file_categories), tag_ids (file_tags), and search_vector with its weight-D words (tag names, the
   categories except 'unknown', the names of the instruments that play) recomputed; the name, place and
   folder words (weights A-C, 10_util.sql) are kept. The one home of these rules: midi.sync_files and
   midi.analysis_apply both write what it returns. A set-returning SQL function, so the planner inlines
   it into the caller's UPDATE (one set-based statement, not a call per file). */
CREATE OR REPLACE FUNCTION midi._search_columns(ids bigint[])
RETURNS TABLE (file_id bigint, bpm numeric, key midi.musical_key, category midi.file_category, tag_ids bigint[],
               search_vector tsvector)
LANGUAGE sql STABLE AS $$
    SELECT x.id,
           coalesce(mm.bpm, x.filename_bpm),
           coalesce(nullif(mm.key_signature, 'UNKNOWN'), x.filename_key),
           fc.primary_category,
           coalesce(tg.tag_ids, '{}'),
           ts_filter(coalesce(x.search_vector, ''), '{a,b,c}')
           || setweight(to_tsvector('midi.names', midi.name_words(concat_ws(' ', tg.names,
                  (SELECT concat_ws(' ', nullif(fc.primary_category, 'unknown'), nullif(fc.secondary_category, 'unknown'))
                    WHERE fc.file_id IS NOT NULL),
                  ins.names))), 'D')
      FROM midi.files x
           LEFT JOIN midi.musical_metadata mm ON mm.file_id = x.id
           LEFT JOIN midi.file_categories fc ON fc.file_id = x.id
           LEFT JOIN (SELECT ft.file_id, array_agg(ft.tag_id ORDER BY ft.tag_id) AS tag_ids,
                             string_agg(t.name, ' ' ORDER BY t.name) AS names
                        FROM midi.file_tags ft JOIN midi.tags t ON t.id = ft.tag_id
                       WHERE ft.file_id = ANY (ids)
                       GROUP BY ft.file_id) tg ON tg.file_id = x.id
           LEFT JOIN (SELECT fi.file_id, string_agg(DISTINCT fi.instrument_name, ' ') AS names
                        FROM midi.file_instruments fi
                       WHERE fi.file_id = ANY (ids)
                       GROUP BY fi.file_id) ins ON ins.file_id = x.id
     WHERE x.id = ANY (ids)
$$;
COMMENT ON FUNCTION midi._search_columns(bigint[]) IS
    'Internal: cached_bpm/key/category, tag_ids and search_vector (weight-D words recomputed) of the given files, from their child rows';

/* sync_files: recomputes the denormalized search columns of the given files (midi._search_columns) and
   writes only the rows that change (so re-running an analysis leaves files untouched). Returns how many
   rows changed. The triggers below call it; bulk writers that defer the triggers call it directly. */
CREATE OR REPLACE FUNCTION midi.sync_files(ids bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    UPDATE midi.files f
       SET cached_bpm = d.bpm, cached_key = d.key, cached_category = d.category, tag_ids = d.tag_ids,
           search_vector = d.search_vector
      FROM midi._search_columns(ids) d
     WHERE f.id = d.file_id
       AND (f.cached_bpm, f.cached_key, f.cached_category, f.tag_ids, f.search_vector)
           IS DISTINCT FROM (d.bpm, d.key, d.category, d.tag_ids, d.search_vector);
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$;
COMMENT ON FUNCTION midi.sync_files(bigint[]) IS
    'Recomputes cached_bpm/key/category, tag_ids and the weight-D search words of the given files; returns rows changed';

/* _sync_deferred: true while the current transaction asked the sync triggers to stand aside. */
CREATE OR REPLACE FUNCTION midi._sync_deferred() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('midi.defer_sync', true), '') = 'on'
$$;
COMMENT ON FUNCTION midi._sync_deferred() IS 'Whether SET LOCAL midi.defer_sync = on is in effect';

/* _sync_from_children: statement-level AFTER trigger on musical_metadata, file_categories,
   file_instruments and file_tags: syncs every file the statement touched (old and new rows). */
CREATE OR REPLACE FUNCTION midi._sync_from_children() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF midi._sync_deferred() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.file_id) INTO ids FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.file_id) INTO ids FROM old_rows o;
    ELSE
        SELECT array_agg(DISTINCT u.file_id) INTO ids
          FROM (SELECT n.file_id FROM new_rows n UNION SELECT o.file_id FROM old_rows o) u;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM midi.sync_files(ids);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi._sync_from_children() IS
    'Trigger function: re-syncs the denormalized search columns of the files a child-table statement touched';

-- The same three statement-level triggers on each child table that feeds the search columns.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['musical_metadata', 'file_categories', 'file_instruments', 'file_tags'] LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT ON midi.%I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children()', t || '_sync_ins', t);
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER UPDATE ON midi.%I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children()',
                       t || '_sync_upd', t);
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER DELETE ON midi.%I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children()', t || '_sync_del', t);
    END LOOP;
END
$$;

/* _sync_from_tags: statement-level AFTER UPDATE trigger on tags: a renamed tag changes the search words
   of every file that carries it. (Deleted tags cascade to file_tags, whose trigger syncs.) */
CREATE OR REPLACE FUNCTION midi._sync_from_tags() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF midi._sync_deferred() THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT ft.file_id) INTO ids
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      JOIN midi.file_tags ft ON ft.tag_id = n.id
     WHERE n.name IS DISTINCT FROM o.name;
    IF ids IS NOT NULL THEN
        PERFORM midi.sync_files(ids);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi._sync_from_tags() IS
    'Trigger function: re-syncs the search words of files whose tag was renamed';

CREATE OR REPLACE TRIGGER tags_sync_upd
    AFTER UPDATE ON midi.tags REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_tags();

/* _files_cached_from_name: BEFORE INSERT / UPDATE OF filename_bpm, filename_key row trigger on files:
   until analysis measures them, a file's BPM and key are what its name states. */
CREATE OR REPLACE FUNCTION midi._files_cached_from_name() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    mm_bpm numeric;
    mm_key midi.musical_key;
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- a writer that supplies the cached values (a bulk load) knows better
        NEW.cached_bpm := coalesce(NEW.cached_bpm, NEW.filename_bpm);
        NEW.cached_key := coalesce(NEW.cached_key, NEW.filename_key);
    ELSE
        SELECT m.bpm, nullif(m.key_signature, 'UNKNOWN') INTO mm_bpm, mm_key
          FROM midi.musical_metadata m WHERE m.file_id = NEW.id;
        NEW.cached_bpm := coalesce(mm_bpm, NEW.filename_bpm);
        NEW.cached_key := coalesce(mm_key, NEW.filename_key);
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._files_cached_from_name() IS
    'Trigger function: cached_bpm / cached_key fall back to the BPM and key stated by the file name';

-- Fires only when the inserting statement left a cached column to fill (import_merge fills them itself).
CREATE OR REPLACE TRIGGER files_cached_from_name_insert
    BEFORE INSERT ON midi.files
    FOR EACH ROW WHEN ((NEW.cached_bpm IS NULL AND NEW.filename_bpm IS NOT NULL)
                       OR (NEW.cached_key IS NULL AND NEW.filename_key IS NOT NULL))
    EXECUTE FUNCTION midi._files_cached_from_name();
CREATE OR REPLACE TRIGGER files_cached_from_name_update
    BEFORE UPDATE OF filename_bpm, filename_key ON midi.files
    FOR EACH ROW EXECUTE FUNCTION midi._files_cached_from_name();
