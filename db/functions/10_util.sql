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

/* name_words: the words of a file or folder name, for search. Strips a file extension, splits on
   "_ - ." and spaces and between camelCase humps, and keeps the joined humps too, so
   'DeepHouse_Bass_124bpm.mid' yields 'Deep House DeepHouse Bass 124bpm'. */
CREATE OR REPLACE FUNCTION midi.name_words(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    WITH base AS (
        SELECT regexp_replace(name, '\.(mid|midi|kar|rmi|smf)$', '', 'i') AS b
    ), tokens AS (
        SELECT t FROM base, regexp_split_to_table(b, '[\s_.\-]+') AS t WHERE t <> ''
    )
    SELECT coalesce(string_agg(
        CASE
            WHEN t ~ '[a-z][A-Z]|[A-Z][A-Z][a-z]' THEN
                regexp_replace(regexp_replace(t, '([a-z0-9])([A-Z])', '\1 \2', 'g'),
                               '([A-Z]+)([A-Z][a-z])', '\1 \2', 'g') || ' ' || t
            ELSE t
        END, ' '), '')
    FROM tokens
$$;
COMMENT ON FUNCTION midi.name_words(text) IS
    'Search words of a file or folder name: extension stripped, split on _ - . and camelCase (joined form kept)';

/* file_search_vector: the weighted search document of a file: filename A, manufacturer and collection B,
   folder tags C. One function so the trigger, backfills and tests agree. */
CREATE OR REPLACE FUNCTION midi.file_search_vector(
    filename text, manufacturer text, collection_name text, folder_tags text[]
) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('midi.names', coalesce(midi.name_words(filename), '')), 'A')
        || setweight(to_tsvector('midi.names',
               coalesce(midi.name_words(manufacturer), '') || ' ' || coalesce(midi.name_words(collection_name), '')), 'B')
        || setweight(to_tsvector('midi.names',
               coalesce(midi.name_words(array_to_string(folder_tags, ' ')), '')), 'C')
$$;
COMMENT ON FUNCTION midi.file_search_vector(text, text, text, text[]) IS
    'Weighted tsvector of a file: filename (A), manufacturer + collection (B), folder tags (C)';

/* _files_search_vector: BEFORE INSERT/UPDATE trigger function that recomputes files.search_vector. */
CREATE OR REPLACE FUNCTION midi._files_search_vector() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := midi.file_search_vector(NEW.filename, NEW.manufacturer, NEW.collection_name, NEW.folder_tags);
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._files_search_vector() IS
    'Trigger function: recomputes files.search_vector from filename, manufacturer, collection and folder tags';

CREATE OR REPLACE TRIGGER files_search_vector
    BEFORE INSERT OR UPDATE OF filename, manufacturer, collection_name, folder_tags ON midi.files
    FOR EACH ROW EXECUTE FUNCTION midi._files_search_vector();
