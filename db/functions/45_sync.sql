-- Denormalized search columns of midi.files, kept true by triggers: cached_bpm and cached_key (from
-- musical_metadata, else from the file name), cached_category (file_categories), tag_ids (the users' tags in
-- file_tags and the tags the file's facts give, computed), and
-- the weight-D part of search_vector (tag, category and instrument names). Filename (A), manufacturer and
-- collection (B) and folder tags (C) stay as 10_util.sql computes them.
--
-- The child-table triggers are statement-level with transition tables: one set-based UPDATE of files per
-- statement, not one per row. A bulk writer that touches several child tables of the same files (analysis)
-- may SET LOCAL midi.defer_sync = 'on' and call midi.sync_files(ids) once at the end instead.

/* _derived_tags: the tags the facts of the given files give them (midi.derive_tags), as (file, tag id)
   pairs in two arrays, for the files that went through analysis: analyzed_at set, or named in `analyzed`
   (the files an analysis is writing now). A file that never went through analysis has none: its tags are
   its users'. Tag names not in midi.tags yet are created first, in name order (so concurrent batches
   never deadlock on them). These tags are computed, never stored as file_tags rows: files.tag_ids holds
   them with the users' tags. */
CREATE OR REPLACE FUNCTION midi._derived_tags(ids bigint[], analyzed bigint[] DEFAULT '{}',
                                              OUT files bigint[], OUT tag_ids bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    w_file bigint[];
    w_name text[];
    w_cat text[];
BEGIN
    IF NOT ids <@ analyzed THEN
        ids := ARRAY(SELECT f.id FROM midi.files f
                      WHERE f.id = ANY (ids) AND (f.analyzed_at IS NOT NULL OR f.id = ANY (analyzed)));
    END IF;
    SELECT coalesce(array_agg(d.file_id), '{}'), coalesce(array_agg(d.name), '{}'), coalesce(array_agg(d.category), '{}')
      INTO w_file, w_name, w_cat
      FROM midi.derive_tags(ids) d;
    IF cardinality(w_name) = 0 THEN
        files := '{}';
        tag_ids := '{}';
        RETURN;
    END IF;
    INSERT INTO midi.tags (name, category)
    SELECT DISTINCT ON (w.name) w.name, w.category
      FROM unnest(w_name, w_cat) AS w(name, category)
     WHERE NOT EXISTS (SELECT 1 FROM midi.tags t WHERE t.name = w.name)
     ORDER BY w.name
    ON CONFLICT ON CONSTRAINT tags_name_key DO NOTHING;
    SELECT coalesce(array_agg(w.file_id), '{}'), coalesce(array_agg(t.id), '{}') INTO files, tag_ids
      FROM unnest(w_file, w_name) AS w(file_id, name) JOIN midi.tags t ON t.name = w.name;
END;
$$;
COMMENT ON FUNCTION midi._derived_tags(bigint[], bigint[]) IS
    'Internal: (file, tag id) pairs of the tags derive_tags gives the analyzed ones of the given files (tag names created when new)';

/* _search_columns: the denormalized search columns of the given files, from their own and their child
   rows: cached_bpm and cached_key (musical_metadata, else what the file name states), cached_category
   (file_categories), tag_ids (the users' tags in file_tags, and the computed tags passed in as
   derived_files / derived_tags pairs: midi._derived_tags), and search_vector with its weight-D words
   (tag names, the categories except 'unknown', the names of the instruments that play) recomputed; the
   name, place and folder words (weights A-C, 10_util.sql) are kept. The one home of these rules:
   midi.sync_files and midi.analysis_apply both write what it returns. A set-returning SQL function, so
   the planner inlines it into the caller's UPDATE (one set-based statement, not a call per file). */
CREATE OR REPLACE FUNCTION midi._search_columns(ids bigint[], derived_files bigint[], derived_tags bigint[])
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
           LEFT JOIN (SELECT u.file_id, array_agg(u.tag_id ORDER BY u.tag_id) AS tag_ids,
                             string_agg(t.name, ' ' ORDER BY t.name) AS names
                        FROM (SELECT ft.file_id, ft.tag_id FROM midi.file_tags ft WHERE ft.file_id = ANY (ids)
                              UNION
                              SELECT d.file_id, d.tag_id FROM unnest(derived_files, derived_tags) AS d(file_id, tag_id)) u
                        JOIN midi.tags t ON t.id = u.tag_id
                       GROUP BY u.file_id) tg ON tg.file_id = x.id
           LEFT JOIN (SELECT fi.file_id, string_agg(DISTINCT fi.instrument_name, ' ') AS names
                        FROM midi.file_instruments fi
                       WHERE fi.file_id = ANY (ids)
                       GROUP BY fi.file_id) ins ON ins.file_id = x.id
     WHERE x.id = ANY (ids)
$$;
COMMENT ON FUNCTION midi._search_columns(bigint[], bigint[], bigint[]) IS
    'Internal: cached_bpm/key/category, tag_ids and search_vector (weight-D words recomputed) of the given files, from their child rows and computed tags';

/* sync_files: recomputes the denormalized search columns of the given files (midi._search_columns, with
   the tags their facts give: midi._derived_tags) and writes only the rows that change (so re-running an analysis leaves files untouched). Returns how many
   rows changed. The triggers below call it; bulk writers that defer the triggers call it directly. */
CREATE OR REPLACE FUNCTION midi.sync_files(ids bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
    derived record;
BEGIN
    derived := midi._derived_tags(ids);
    UPDATE midi.files f
       SET cached_bpm = d.bpm, cached_key = d.key, cached_category = d.category, tag_ids = d.tag_ids,
           search_vector = d.search_vector
      FROM midi._search_columns(ids, derived.files, derived.tag_ids) d
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

/* _sync_from_tags: statement-level AFTER UPDATE and AFTER DELETE trigger on tags: a renamed tag changes
   the search words of every file that carries it, and a deleted tag leaves the tag_ids of every file that
   carried it (a user's tag, whose file_tags rows cascade, or a computed one, which the file's facts give
   it again under its name). The files are found by files.tag_ids. */
CREATE OR REPLACE FUNCTION midi._sync_from_tags() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    gone bigint[];
    ids bigint[];
BEGIN
    IF midi._sync_deferred() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        gone := ARRAY(SELECT o.id FROM old_rows o);
    ELSE
        gone := ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.name IS DISTINCT FROM o.name);
    END IF;
    IF cardinality(gone) > 0 THEN
        SELECT array_agg(f.id) INTO ids FROM midi.files f WHERE f.tag_ids && gone;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM midi.sync_files(ids);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi._sync_from_tags() IS
    'Trigger function: re-syncs the search columns of files whose tag was renamed or deleted';

CREATE OR REPLACE TRIGGER tags_sync_upd
    AFTER UPDATE ON midi.tags REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_tags();
CREATE OR REPLACE TRIGGER tags_sync_del
    AFTER DELETE ON midi.tags REFERENCING OLD TABLE AS old_rows
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
