-- Shared helpers and the triggers that keep files.updated_at and files.search_vector true.
-- Repeatable: every statement here is CREATE OR REPLACE and is re-applied after each migrate.

/* _touch_updated_at: BEFORE UPDATE trigger function; stamps updated_at so readers can tell fresh rows. */
CREATE OR REPLACE FUNCTION midi._touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._touch_updated_at() IS
    'Trigger function: sets NEW.updated_at = now() on every update';

CREATE OR REPLACE TRIGGER files_touch_updated_at
    BEFORE UPDATE ON midi.files
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION midi._touch_updated_at();
CREATE OR REPLACE TRIGGER musical_metadata_touch_updated_at
    BEFORE UPDATE ON midi.musical_metadata
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION midi._touch_updated_at();

-- midi.name_words, the words of a file or folder name, is defined in migration 0010: an index is built on
-- it (through midi.name_tsvector), so it changes only with a migration that rebuilds that index.

/* name_vector: the file-name part of a file's search document (weight A). */
CREATE OR REPLACE FUNCTION midi.name_vector(filename text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('midi.names', coalesce(midi.name_words(filename), '')), 'A')
$$;
COMMENT ON FUNCTION midi.name_vector(text) IS 'File-name words of the search document, weight A';

/* place_vector: the library-place part of a file's search document: manufacturer and collection (B),
   folder tags (C). Separate from name_vector because every file of a folder shares it, so the import
   computes it once per folder. */
CREATE OR REPLACE FUNCTION midi.place_vector(manufacturer text, collection_name text, folder_tags text[])
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('midi.names',
               coalesce(midi.name_words(manufacturer), '') || ' ' || coalesce(midi.name_words(collection_name), '')), 'B')
        || setweight(to_tsvector('midi.names', coalesce(midi.name_words(array_to_string(folder_tags, ' ')), '')), 'C')
$$;
COMMENT ON FUNCTION midi.place_vector(text, text, text[]) IS
    'Manufacturer + collection (weight B) and folder tags (weight C) of the search document';

/* file_search_vector: the weighted search document of a file: filename A, manufacturer and collection B,
   folder tags C. One function so the trigger, backfills and tests agree. */
CREATE OR REPLACE FUNCTION midi.file_search_vector(
    filename text, manufacturer text, collection_name text, folder_tags text[]
) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT midi.name_vector(filename) || midi.place_vector(manufacturer, collection_name, folder_tags)
$$;
COMMENT ON FUNCTION midi.file_search_vector(text, text, text, text[]) IS
    'Weighted tsvector of a file: filename (A), manufacturer + collection (B), folder tags (C)';

/* _files_search_vector: BEFORE INSERT/UPDATE trigger function that recomputes files.search_vector. */
CREATE OR REPLACE FUNCTION midi._files_search_vector() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- weight D (tag, category and instrument names) is kept by 45_sync.sql; carry it over unchanged
    NEW.search_vector := midi.file_search_vector(NEW.filename, NEW.manufacturer, NEW.collection_name, NEW.folder_tags)
                         || coalesce(ts_filter(NEW.search_vector, '{d}'), '');
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._files_search_vector() IS
    'Trigger function: recomputes files.search_vector from filename, manufacturer, collection and folder tags (keeps weight D)';

-- On insert the vector is computed unless the writer supplied it (midi.import_merge does, from the same
-- functions, once per folder); on update it is always recomputed from the columns it depends on.
CREATE OR REPLACE TRIGGER files_search_vector
    BEFORE UPDATE OF filename, manufacturer, collection_name, folder_tags ON midi.files
    FOR EACH ROW EXECUTE FUNCTION midi._files_search_vector();
CREATE OR REPLACE TRIGGER files_search_vector_insert
    BEFORE INSERT ON midi.files
    FOR EACH ROW WHEN (NEW.search_vector IS NULL) EXECUTE FUNCTION midi._files_search_vector();
