SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;
CREATE SCHEMA midi;
COMMENT ON SCHEMA midi IS 'midicenter: MIDI library catalog, analysis and search API';
CREATE TYPE midi.file_category AS ENUM (
    'drums',
    'kick',
    'snare',
    'hats',
    'cymbals',
    'percussion',
    'bass',
    'chords',
    'pad',
    'lead',
    'melody',
    'arp',
    'pluck',
    'keys',
    'piano',
    'organ',
    'guitar',
    'strings',
    'brass',
    'woodwind',
    'synth',
    'fx',
    'vocal',
    'full_mix',
    'unknown'
);
CREATE TYPE midi.musical_key AS ENUM (
    'C',
    'C#',
    'D',
    'Eb',
    'E',
    'F',
    'F#',
    'G',
    'Ab',
    'A',
    'Bb',
    'B',
    'Cm',
    'C#m',
    'Dm',
    'Ebm',
    'Em',
    'Fm',
    'F#m',
    'Gm',
    'Abm',
    'Am',
    'Bbm',
    'Bm',
    'UNKNOWN'
);
CREATE FUNCTION midi._files_search_vector() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.search_vector := midi.file_search_vector(NEW.filename, NEW.manufacturer, NEW.collection_name, NEW.folder_tags);
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._files_search_vector() IS 'Trigger function: recomputes files.search_vector from filename, manufacturer, collection and folder tags';
SET default_tablespace = '';
SET default_table_access_method = heap;
CREATE UNLOGGED TABLE midi.import_staging (
    batch_id bigint NOT NULL,
    chunk integer NOT NULL,
    root text NOT NULL,
    path text NOT NULL COLLATE pg_catalog."C",
    path_bytes bytea,
    rel text NOT NULL,
    content_hash bytea,
    file_size_bytes bigint,
    format smallint,
    header_tracks integer,
    num_tracks integer,
    ticks_per_quarter_note integer,
    smpte_fps smallint,
    smpte_resolution smallint,
    is_rmid boolean,
    warnings text[],
    error_class text,
    message text
);
CREATE FUNCTION midi._staged(batch bigint, chunk integer) RETURNS SETOF midi.import_staging
    LANGUAGE plpgsql STABLE ROWS 2000
    AS $$
BEGIN
    RETURN QUERY SELECT * FROM midi.import_staging s WHERE s.batch_id = batch AND s.chunk = _staged.chunk;
END;
$$;
COMMENT ON FUNCTION midi._staged(batch bigint, chunk integer) IS 'Rows of one staged import chunk (with a realistic row estimate)';
CREATE FUNCTION midi._touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._touch_updated_at() IS 'Trigger function: sets NEW.updated_at = now() on every update';
CREATE FUNCTION midi._under_roots(path text, roots text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM unnest(roots) r
         WHERE path = r
            OR left(path, length(rtrim(r, '/')) + 1) = rtrim(r, '/') || '/'
            OR left(path, length(r) + 1) = r || '!')
$$;
COMMENT ON FUNCTION midi._under_roots(path text, roots text[]) IS 'Whether a path lies under one of the given roots';
CREATE FUNCTION midi.file_search_vector(filename text, manufacturer text, collection_name text, folder_tags text[]) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT midi.name_vector(filename) || midi.place_vector(manufacturer, collection_name, folder_tags)
$$;
COMMENT ON FUNCTION midi.file_search_vector(filename text, manufacturer text, collection_name text, folder_tags text[]) IS 'Weighted tsvector of a file: filename (A), manufacturer + collection (B), folder tags (C)';
CREATE FUNCTION midi.filename_facts(name text, vocabulary jsonb DEFAULT NULL::jsonb, phrases text DEFAULT NULL::text) RETURNS TABLE(bpm numeric, key midi.musical_key, genres text[], structure text[])
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$
    SELECT b.bpm, kk.key, coalesce(v.genres, '{}'), coalesce(v.structure, '{}')
      FROM (SELECT regexp_replace(name, '\.(mid|midi|kar|rmi|smf)$', '', 'i') AS base OFFSET 0) x
     CROSS JOIN LATERAL (
           SELECT coalesce(
                      replace((regexp_match(x.base, '(?:^|[^0-9.])([0-9]{2,3}(?:[.,][0-9]{1,2})?) ?[-_ ]? ?bpm(?![a-z])', 'i'))[1], ',', '.'),
                      replace((regexp_match(x.base, '(?:^|[^a-z])bpm ?[-_ :]? ?([0-9]{2,3}(?:[.,][0-9]{1,2})?)(?![0-9])', 'i'))[1], ',', '.'),
                      CASE WHEN regexp_count(x.base, '(?:^|[\s_.()\[\]{},+~=-])[0-9]+(?=[\s_.()\[\]{},+~=-]|$)') = 1
                           THEN (regexp_match(x.base, '(?:^|[\s_.()\[\]{},+~=-])([0-9]{2,3})(?=[\s_.()\[\]{},+~=-]|$)'))[1] END
                  )::numeric AS raw OFFSET 0) b0
     CROSS JOIN LATERAL (
           SELECT CASE WHEN b0.raw BETWEEN 20 AND 999
                        AND (b0.raw BETWEEN 40 AND 250 OR x.base ~* 'bpm') THEN b0.raw END AS bpm OFFSET 0) b
     CROSS JOIN LATERAL (
           SELECT coalesce(regexp_substr(x.base || '_', '(?:^|[\s_.()\[\]{},+~=-])(?:[A-G](?:[#♯b♭]|sharp|flat)?(?:m|min|minor|Min|Minor|MIN|maj|major|Maj|Major|MAJ)|[A-G](?:[#♯b♭]|sharp|flat)|[A-Ga-g](?:[#♯b♭]|sharp|flat)?[\s_.()\[\]{},+~=-]+(?:min|minor|Min|Minor|MIN|maj|major|Maj|Major|MAJ|m)|[a-g](?:[#♯b♭]|sharp|flat)?(?:min|minor|maj|major)|[a-g](?:[#♯b♭]|sharp|flat))[\s_.()\[\]{},+~=-]'),
                           CASE WHEN b.bpm IS NOT NULL THEN regexp_substr(x.base || '_', '(?:^|[\s_.()\[\]{},+~=-])[A-G][\s_.()\[\]{},+~=-]') END)
                  AS tok OFFSET 0) t
     CROSS JOIN LATERAL (
           SELECT regexp_match(t.tok, '([A-Ga-g])([#♯b♭]|sharp|flat)?[\s_.()\[\]{},+~=-]*([A-Za-z]*)[\s_.()\[\]{},+~=-]$') AS m OFFSET 0) km
     CROSS JOIN LATERAL (
           SELECT CASE WHEN km.m IS NOT NULL THEN midi.key_name(
                      strpos('C D EF G A B', upper(km.m[1])) - 1
                      + CASE WHEN km.m[2] IN ('#', '♯', 'sharp') THEN 1 WHEN km.m[2] IN ('b', '♭', 'flat') THEN -1 ELSE 0 END,
                      lower(km.m[3]) IN ('m', 'min', 'minor')) END AS key OFFSET 0) kk
     CROSS JOIN LATERAL (
           SELECT ' ' || lower(regexp_replace(regexp_replace(replace(x.base, '&', ' and '), '([a-z]{2})([A-Z])', '\1 \2', 'g'),
                                              '[\s_.()\[\]{},+~=-]+', ' ', 'g'))
                  || CASE WHEN strpos(lower(x.base), 'r&b') > 0 THEN ' r&b ' ELSE ' ' END AS words OFFSET 0) w
     CROSS JOIN LATERAL (
           SELECT string_to_array(btrim(w.words), ' ') AS tokens,
                  coalesce(vocabulary, midi.vocabulary_map()) AS vmap,
                  coalesce(phrases, midi.vocabulary_phrases()) AS phrase_re OFFSET 0) tk
      LEFT JOIN LATERAL (
           -- two cheap gates first (most names hold no vocabulary word), then a lookup per word
           SELECT array_agg(DISTINCT substr(l, 7) ORDER BY substr(l, 7)) FILTER (WHERE l LIKE 'genre:%') AS genres,
                  array_agg(DISTINCT substr(l, 11) ORDER BY substr(l, 11)) FILTER (WHERE l LIKE 'structure:%') AS structure
             FROM (SELECT tk.vmap ->> t AS l FROM unnest(tk.tokens) t WHERE tk.vmap ? t
                   UNION ALL
                   SELECT e.value FROM jsonb_each_text(tk.vmap) e
                    WHERE w.words ~ tk.phrase_re AND strpos(e.key, ' ') > 0 AND strpos(w.words, ' ' || e.key || ' ') > 0) x
            WHERE tk.vmap ?| tk.tokens OR w.words ~ tk.phrase_re) v ON true
$_$;
COMMENT ON FUNCTION midi.filename_facts(name text, vocabulary jsonb, phrases text) IS 'BPM, key, genre words and structure words stated by a file name (one row; NULL / {} when absent)';
CREATE FUNCTION midi.import_begin(roots text[], runner_version text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE sql
    AS $$
    INSERT INTO midi.import_batches (roots, runner_version) VALUES (roots, runner_version) RETURNING id
$$;
COMMENT ON FUNCTION midi.import_begin(roots text[], runner_version text) IS 'Opens an import batch for the given roots; returns its id';
CREATE TABLE midi.import_batches (
    id bigint NOT NULL,
    roots text[] DEFAULT '{}'::text[] NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    files_seen bigint DEFAULT 0 NOT NULL,
    files_new bigint DEFAULT 0 NOT NULL,
    duplicates bigint DEFAULT 0 NOT NULL,
    errors bigint DEFAULT 0 NOT NULL,
    other_files bigint DEFAULT 0 NOT NULL,
    bytes_seen bigint DEFAULT 0 NOT NULL,
    runner_version text,
    CONSTRAINT import_batches_bytes_seen_check CHECK ((bytes_seen >= 0)),
    CONSTRAINT import_batches_check CHECK (((finished_at IS NULL) OR (finished_at >= started_at))),
    CONSTRAINT import_batches_duplicates_check CHECK ((duplicates >= 0)),
    CONSTRAINT import_batches_errors_check CHECK ((errors >= 0)),
    CONSTRAINT import_batches_files_new_check CHECK ((files_new >= 0)),
    CONSTRAINT import_batches_files_seen_check CHECK ((files_seen >= 0)),
    CONSTRAINT import_batches_other_files_check CHECK ((other_files >= 0)),
    CONSTRAINT import_batches_status_check CHECK ((status = ANY (ARRAY['running'::text, 'done'::text, 'failed'::text])))
);
CREATE FUNCTION midi.import_finish(batch bigint, other_files bigint DEFAULT 0, prune boolean DEFAULT false) RETURNS midi.import_batches
    LANGUAGE plpgsql
    AS $$
DECLARE
    b midi.import_batches;
BEGIN
    SELECT * INTO b FROM midi.import_batches WHERE id = batch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'import batch % does not exist', batch USING ERRCODE = 'no_data_found';
    END IF;
    IF prune THEN
        UPDATE midi.file_paths fp SET missing_since = now()
         WHERE fp.missing_since IS NULL AND fp.last_seen < b.started_at AND midi._under_roots(fp.path, b.roots);
        DELETE FROM midi.import_errors e
         WHERE e.last_seen < b.started_at AND midi._under_roots(e.path, b.roots);
        UPDATE midi.files f
           SET filepath = np.path, filename = (midi.parse_path(np.path)).filename
          FROM midi.file_paths old
               CROSS JOIN LATERAL (
                   SELECT p.path FROM midi.file_paths p
                    WHERE p.file_id = old.file_id AND p.missing_since IS NULL
                    ORDER BY p.path LIMIT 1) np
         WHERE old.file_id = f.id AND old.path = f.filepath AND old.missing_since IS NOT NULL;
    END IF;
    UPDATE midi.import_batches
       SET status = 'done', finished_at = now(), other_files = import_finish.other_files
     WHERE id = batch
    RETURNING * INTO b;
    RETURN b;
END;
$$;
COMMENT ON FUNCTION midi.import_finish(batch bigint, other_files bigint, prune boolean) IS 'Closes an import batch (optionally marking unseen paths under its roots missing); returns the batch row';
CREATE FUNCTION midi.import_merge(batch bigint, chunk integer) RETURNS TABLE(files_seen integer, files_new integer, duplicates integer, errors integer)
    LANGUAGE plpgsql
    AS $_$
DECLARE
    v_ok integer;
    v_err integer;
    v_new integer;
    v_bytes bigint;
    v_vocab jsonb := midi.vocabulary_map();
    v_phrases text := midi.vocabulary_phrases();
BEGIN
    SELECT count(*) FILTER (WHERE s.error_class IS NULL), count(*) FILTER (WHERE s.error_class IS NOT NULL),
           coalesce(sum(s.file_size_bytes), 0)
      INTO v_ok, v_err, v_bytes
      FROM midi._staged(batch, chunk) s;
    WITH candidates AS (
        SELECT DISTINCT ON (s.content_hash) s.*, substring(s.rel FROM '[^/!]*$') AS fname
          FROM midi._staged(batch, chunk) s
         WHERE s.error_class IS NULL
           AND NOT EXISTS (SELECT 1 FROM midi.files f WHERE f.content_hash = s.content_hash)
         ORDER BY s.content_hash, s.path
    ), folders AS MATERIALIZED (
        -- all files of a folder share its metadata: parse each folder once, not each file
        SELECT d.dir, pf.manufacturer, pf.collection_name, pf.folder_tags,
               midi.place_vector(pf.manufacturer, pf.collection_name, pf.folder_tags) AS place_vector
          FROM (SELECT DISTINCT left(c.rel, length(c.rel) - length(c.fname)) AS dir FROM candidates c) d
               CROSS JOIN LATERAL midi.parse_folder(d.dir) pf
    ), inserted AS (
        INSERT INTO midi.files (filename, filepath, original_filename, content_hash, file_size_bytes, format,
                                num_tracks, header_tracks, ticks_per_quarter_note, smpte_fps, smpte_resolution,
                                is_rmid, midi_warnings, manufacturer, collection_name, folder_tags,
                                filename_bpm, filename_key, filename_genres, filename_structure, import_batch_id,
                                search_vector)
        SELECT c.fname, c.path, c.fname, c.content_hash, c.file_size_bytes, c.format,
               least(c.num_tracks, 32767), c.header_tracks, c.ticks_per_quarter_note, c.smpte_fps,
               c.smpte_resolution, coalesce(c.is_rmid, false), coalesce(c.warnings, '{}'),
               fo.manufacturer, fo.collection_name, fo.folder_tags,
               pf.bpm, pf.key, pf.genres, pf.structure, batch,
               midi.name_vector(c.fname) || fo.place_vector
          FROM candidates c
               JOIN folders fo ON fo.dir = left(c.rel, length(c.rel) - length(c.fname))
               CROSS JOIN LATERAL midi.filename_facts(c.fname, v_vocab, v_phrases) pf
         ORDER BY c.content_hash
        ON CONFLICT (content_hash) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO v_new FROM inserted;
    INSERT INTO midi.file_paths AS fp (path, path_bytes, file_id, import_batch_id)
    SELECT DISTINCT ON (s.path, s.path_bytes) s.path, s.path_bytes, f.id, batch
      FROM midi._staged(batch, chunk) s
      JOIN midi.files f ON f.content_hash = s.content_hash
     WHERE s.error_class IS NULL
     ORDER BY s.path, s.path_bytes
    ON CONFLICT (path, path_bytes) DO UPDATE
        SET last_seen = now(), missing_since = NULL, file_id = EXCLUDED.file_id;
    -- The canonical path of a content is its smallest path in byte order, so the catalog does not depend
    -- on the order in which chunks, concurrent imports or a resumed run happened to arrive.
    WITH firsts AS (
        SELECT DISTINCT ON (s.content_hash) s.content_hash, s.path, s.rel, substring(s.rel FROM '[^/!]*$') AS fname
          FROM midi._staged(batch, chunk) s
         WHERE s.error_class IS NULL
         ORDER BY s.content_hash, s.path
    ), moved AS (
        -- a unique-key probe per content, whatever the planner believes about the size of files
        SELECT fi.id, fi.path, fi.fname, left(fi.rel, length(fi.rel) - length(fi.fname)) AS dir
          FROM (SELECT fs.*, (SELECT f.id FROM midi.files f
                               WHERE f.content_hash = fs.content_hash AND f.filepath > fs.path) AS id
                  FROM firsts fs) fi
         WHERE fi.id IS NOT NULL
    )
    UPDATE midi.files f
       SET filepath = mv.path, filename = mv.fname, original_filename = mv.fname,
           manufacturer = pf.manufacturer, collection_name = pf.collection_name, folder_tags = pf.folder_tags,
           filename_bpm = ff.bpm, filename_key = ff.key, filename_genres = ff.genres, filename_structure = ff.structure
      FROM moved mv
           CROSS JOIN LATERAL midi.parse_folder(mv.dir) pf
           CROSS JOIN LATERAL midi.filename_facts(mv.fname, v_vocab, v_phrases) ff
     WHERE f.id = mv.id;
    IF v_ok > 0 AND EXISTS (SELECT 1 FROM midi.import_errors) THEN
        DELETE FROM midi.import_errors e
         USING midi._staged(batch, chunk) s
         WHERE s.error_class IS NULL
           AND e.path = s.path AND e.path_bytes IS NOT DISTINCT FROM s.path_bytes;
    END IF;
    IF v_err > 0 THEN
        INSERT INTO midi.import_errors AS e (path, path_bytes, batch_id, error_class, message, file_size_bytes)
        SELECT DISTINCT ON (s.path, s.path_bytes) s.path, s.path_bytes, batch, s.error_class,
               coalesce(s.message, s.error_class), s.file_size_bytes
          FROM midi._staged(batch, chunk) s
         WHERE s.error_class IS NOT NULL
         ORDER BY s.path, s.path_bytes
        ON CONFLICT (path, path_bytes) DO UPDATE
            SET error_class = EXCLUDED.error_class, message = EXCLUDED.message,
                file_size_bytes = EXCLUDED.file_size_bytes, last_seen = now();
    END IF;
    UPDATE midi.import_batches b
       SET files_seen = b.files_seen + v_ok + v_err, files_new = b.files_new + v_new,
           duplicates = b.duplicates + v_ok - v_new, errors = b.errors + v_err, bytes_seen = b.bytes_seen + v_bytes
     WHERE b.id = batch;
    DELETE FROM midi.import_staging s WHERE s.batch_id = batch AND s.chunk = import_merge.chunk;
    RETURN QUERY SELECT v_ok + v_err, v_new, v_ok - v_new, v_err;
END;
$_$;
COMMENT ON FUNCTION midi.import_merge(batch bigint, chunk integer) IS 'Merges one staged chunk into files, file_paths and import_errors; returns (files_seen, files_new, duplicates, errors)';
CREATE FUNCTION midi.key_name(pitch_class integer, minor boolean) RETURNS midi.musical_key
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT ((ARRAY['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'])[((pitch_class % 12) + 12) % 12 + 1]
            || CASE WHEN minor THEN 'm' ELSE '' END)::midi.musical_key
$$;
COMMENT ON FUNCTION midi.key_name(pitch_class integer, minor boolean) IS 'Canonical key of a pitch class (0=C..11=B) and mode: key_name(8, true) = Abm';
CREATE FUNCTION midi.name_vector(filename text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT setweight(to_tsvector('midi.names', coalesce(midi.name_words(filename), '')), 'A')
$$;
COMMENT ON FUNCTION midi.name_vector(filename text) IS 'File-name words of the search document, weight A';
CREATE FUNCTION midi.name_words(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
    SELECT btrim(regexp_replace(
               regexp_replace(regexp_replace(regexp_replace(name, '\.(mid|midi|kar|rmi|smf)$', '', 'i'),
                                             '([a-z]{2})([A-Z])', '\1 \2', 'g'),
                              '([A-Z])([A-Z][a-z])', '\1 \2', 'g'),
               '[\s_.\-]+', ' ', 'g'))
$_$;
COMMENT ON FUNCTION midi.name_words(name text) IS 'Search words of a file or folder name: extension stripped, split on _ - . and camelCase humps';
CREATE FUNCTION midi.parse_filename(name text, OUT bpm numeric, OUT key midi.musical_key, OUT genres text[], OUT structure text[]) RETURNS record
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$
    SELECT f.bpm, f.key, f.genres, f.structure FROM midi.filename_facts(name) f
$$;
COMMENT ON FUNCTION midi.parse_filename(name text, OUT bpm numeric, OUT key midi.musical_key, OUT genres text[], OUT structure text[]) IS 'BPM, key, genre words and structure words stated by a file name, each separately (NULL / {} when absent)';
CREATE FUNCTION midi.parse_folder(dir text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[]) RETURNS record
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
DECLARE
    parts text[] := array_remove(string_to_array(
        regexp_replace(replace(dir, '!', '/'), '\.zip(/|$)', '\1', 'gi'), '/'), '');
    w text;
BEGIN
    manufacturer := nullif(btrim(parts[1]), '');
    collection_name := nullif(btrim(parts[2]), '');
    folder_tags := '{}';
    FOR i IN 3..coalesce(cardinality(parts), 0) LOOP
        FOREACH w IN ARRAY regexp_split_to_array(lower(midi.name_words(parts[i])), '\s+') LOOP
            IF w <> '' AND NOT w = ANY (folder_tags) THEN
                folder_tags := folder_tags || w;
            END IF;
        END LOOP;
    END LOOP;
END;
$_$;
COMMENT ON FUNCTION midi.parse_folder(dir text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[]) IS 'Manufacturer (1st folder), collection (2nd) and folder tags (words of deeper folders) of a relative folder path';
CREATE FUNCTION midi.parse_path(rel text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[], OUT filename text) RETURNS record
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
    SELECT pf.manufacturer, pf.collection_name, pf.folder_tags, fname
      FROM (SELECT substring(rel FROM '[^/!]*$') AS fname) f,
           LATERAL midi.parse_folder(left(rel, length(rel) - length(f.fname))) pf
$_$;
COMMENT ON FUNCTION midi.parse_path(rel text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[], OUT filename text) IS 'Manufacturer, collection, folder tags (see parse_folder) and file name of a path relative to the import root';
CREATE FUNCTION midi.place_vector(manufacturer text, collection_name text, folder_tags text[]) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT setweight(to_tsvector('midi.names',
               coalesce(midi.name_words(manufacturer), '') || ' ' || coalesce(midi.name_words(collection_name), '')), 'B')
        || setweight(to_tsvector('midi.names', coalesce(midi.name_words(array_to_string(folder_tags, ' ')), '')), 'C')
$$;
COMMENT ON FUNCTION midi.place_vector(manufacturer text, collection_name text, folder_tags text[]) IS 'Manufacturer + collection (weight B) and folder tags (weight C) of the search document';
CREATE FUNCTION midi.vocabulary_map() RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(jsonb_object_agg(v.word, v.kind || ':' || v.label), '{}') FROM midi.vocabulary v
$$;
COMMENT ON FUNCTION midi.vocabulary_map() IS 'The vocabulary as jsonb: word or phrase -> kind:label';
CREATE FUNCTION midi.vocabulary_phrases() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT ' (?:' || string_agg(DISTINCT v.word, '|') || ') ' FROM midi.vocabulary v WHERE strpos(v.word, ' ') > 0
$$;
COMMENT ON FUNCTION midi.vocabulary_phrases() IS 'Regular expression matching any multi-word vocabulary phrase in a normalised name';
CREATE TEXT SEARCH DICTIONARY midi.english_stem_keepall (
    TEMPLATE = pg_catalog.snowball,
    language = 'english' );
CREATE TEXT SEARCH CONFIGURATION midi.names (
    PARSER = pg_catalog."default" );
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR asciiword WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR word WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR numword WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR email WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR url WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR host WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR sfloat WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR version WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR hword_numpart WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR hword_part WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR hword_asciipart WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR numhword WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR asciihword WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR hword WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR url_path WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR file WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR "float" WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR "int" WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR uint WITH simple;
CREATE TABLE midi.analysis_errors (
    file_id bigint NOT NULL,
    error_class text NOT NULL,
    message text NOT NULL,
    parser text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT analysis_errors_error_class_check CHECK ((error_class ~ '^[a-z][a-z_]*$'::text))
);
CREATE TABLE midi.favorites (
    file_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE midi.file_categories (
    file_id bigint NOT NULL,
    primary_category midi.file_category DEFAULT 'unknown'::midi.file_category NOT NULL,
    secondary_category midi.file_category,
    confidence real,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT file_categories_check CHECK (((secondary_category IS NULL) OR (secondary_category <> primary_category))),
    CONSTRAINT file_categories_confidence_check CHECK (((confidence >= (0)::double precision) AND (confidence <= (1)::double precision)))
);
CREATE TABLE midi.file_instruments (
    file_id bigint NOT NULL,
    channel smallint NOT NULL,
    program smallint NOT NULL,
    is_drum boolean DEFAULT false NOT NULL,
    note_count integer DEFAULT 0 NOT NULL,
    instrument_name text,
    CONSTRAINT file_instruments_channel_check CHECK (((channel >= 0) AND (channel <= 15))),
    CONSTRAINT file_instruments_note_count_check CHECK ((note_count >= 0)),
    CONSTRAINT file_instruments_program_check CHECK (((program >= 0) AND (program <= 127)))
);
CREATE TABLE midi.file_paths (
    id bigint NOT NULL,
    path text NOT NULL COLLATE pg_catalog."C",
    path_bytes bytea,
    file_id bigint NOT NULL,
    import_batch_id bigint,
    first_seen timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    missing_since timestamp with time zone
);
ALTER TABLE midi.file_paths ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.file_paths_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.file_tags (
    file_id bigint NOT NULL,
    tag_id bigint NOT NULL,
    source text DEFAULT 'user'::text NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT file_tags_source_check CHECK ((source = ANY (ARRAY['path'::text, 'analysis'::text, 'user'::text])))
);
CREATE TABLE midi.files (
    id bigint NOT NULL,
    filename text NOT NULL,
    filepath text NOT NULL COLLATE pg_catalog."C",
    original_filename text,
    content_hash bytea NOT NULL,
    file_size_bytes bigint NOT NULL,
    format smallint,
    num_tracks smallint,
    ticks_per_quarter_note integer,
    duration_seconds numeric(12,3),
    duration_ticks bigint,
    manufacturer text,
    collection_name text,
    folder_tags text[] DEFAULT '{}'::text[] NOT NULL,
    search_vector tsvector,
    parent_file_id bigint,
    import_batch_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    analyzed_at timestamp with time zone,
    cached_bpm numeric(6,2),
    cached_key midi.musical_key,
    cached_category midi.file_category,
    header_tracks integer,
    smpte_fps smallint,
    smpte_resolution smallint,
    is_rmid boolean DEFAULT false NOT NULL,
    midi_warnings text[] DEFAULT '{}'::text[] NOT NULL,
    filename_bpm numeric(6,2),
    filename_key midi.musical_key,
    filename_genres text[] DEFAULT '{}'::text[] NOT NULL,
    filename_structure text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT files_cached_bpm_check CHECK (((cached_bpm >= (1)::numeric) AND (cached_bpm <= (1000)::numeric))),
    CONSTRAINT files_content_hash_check CHECK ((octet_length(content_hash) = 32)),
    CONSTRAINT files_duration_seconds_check CHECK ((duration_seconds >= (0)::numeric)),
    CONSTRAINT files_duration_ticks_check CHECK ((duration_ticks >= 0)),
    CONSTRAINT files_file_size_bytes_check CHECK ((file_size_bytes >= 0)),
    CONSTRAINT files_filename_bpm_check CHECK (((filename_bpm >= (1)::numeric) AND (filename_bpm <= (1000)::numeric))),
    CONSTRAINT files_format_check CHECK (((format >= 0) AND (format <= 2))),
    CONSTRAINT files_header_tracks_check CHECK ((header_tracks >= 0)),
    CONSTRAINT files_num_tracks_check CHECK ((num_tracks >= 0)),
    CONSTRAINT files_smpte_fps_check CHECK ((smpte_fps = ANY (ARRAY[24, 25, 29, 30]))),
    CONSTRAINT files_smpte_resolution_check CHECK ((smpte_resolution > 0)),
    CONSTRAINT files_ticks_per_quarter_note_check CHECK ((ticks_per_quarter_note > 0))
);
COMMENT ON TABLE midi.files IS 'One row per distinct MIDI content (BLAKE3 content_hash); every location is in file_paths';
COMMENT ON COLUMN midi.files.filepath IS 'The first absolute path this content was seen at; all paths are in file_paths';
COMMENT ON COLUMN midi.files.midi_warnings IS 'Structural problems of a readable file (track_count_mismatch, truncated_track, trailing_garbage, ...)';
COMMENT ON COLUMN midi.files.filename_bpm IS 'BPM read from the file name (124bpm, 124_BPM, a lone 40..250 number)';
COMMENT ON COLUMN midi.files.filename_key IS 'Key read from the file name (Am, A min, F#m, Ebmaj; Cmaj7 is a chord, not a key)';
ALTER TABLE midi.files ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.files_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
ALTER TABLE midi.import_batches ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.import_batches_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.import_errors (
    id bigint NOT NULL,
    path text NOT NULL COLLATE pg_catalog."C",
    path_bytes bytea,
    batch_id bigint NOT NULL,
    error_class text NOT NULL,
    message text NOT NULL,
    file_size_bytes bigint,
    first_seen timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT import_errors_error_class_check CHECK ((error_class ~ '^[a-z][a-z_]*$'::text)),
    CONSTRAINT import_errors_file_size_bytes_check CHECK ((file_size_bytes >= 0))
);
ALTER TABLE midi.import_errors ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.import_errors_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.musical_metadata (
    file_id bigint NOT NULL,
    bpm numeric(6,2),
    key_signature midi.musical_key DEFAULT 'UNKNOWN'::midi.musical_key NOT NULL,
    time_signature_numerator smallint,
    time_signature_denominator smallint,
    total_notes integer DEFAULT 0 NOT NULL,
    unique_pitches smallint,
    pitch_range_min smallint,
    pitch_range_max smallint,
    velocity_min smallint,
    avg_velocity numeric(5,2),
    velocity_max smallint,
    note_density numeric(10,3),
    polyphony_max smallint,
    polyphony_avg numeric(6,2),
    is_percussive boolean DEFAULT false NOT NULL,
    is_monophonic boolean DEFAULT false NOT NULL,
    has_chords boolean DEFAULT false NOT NULL,
    has_melody boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT musical_metadata_avg_velocity_check CHECK (((avg_velocity >= (0)::numeric) AND (avg_velocity <= (127)::numeric))),
    CONSTRAINT musical_metadata_bpm_check CHECK (((bpm >= (1)::numeric) AND (bpm <= (1000)::numeric))),
    CONSTRAINT musical_metadata_check CHECK (((pitch_range_min IS NULL) OR (pitch_range_max IS NULL) OR (pitch_range_min <= pitch_range_max))),
    CONSTRAINT musical_metadata_check1 CHECK (((velocity_min IS NULL) OR (velocity_max IS NULL) OR (velocity_min <= velocity_max))),
    CONSTRAINT musical_metadata_note_density_check CHECK ((note_density >= (0)::numeric)),
    CONSTRAINT musical_metadata_pitch_range_max_check CHECK (((pitch_range_max >= 0) AND (pitch_range_max <= 127))),
    CONSTRAINT musical_metadata_pitch_range_min_check CHECK (((pitch_range_min >= 0) AND (pitch_range_min <= 127))),
    CONSTRAINT musical_metadata_polyphony_avg_check CHECK ((polyphony_avg >= (0)::numeric)),
    CONSTRAINT musical_metadata_polyphony_max_check CHECK ((polyphony_max >= 0)),
    CONSTRAINT musical_metadata_time_signature_denominator_check CHECK ((time_signature_denominator = ANY (ARRAY[1, 2, 4, 8, 16, 32, 64]))),
    CONSTRAINT musical_metadata_time_signature_numerator_check CHECK (((time_signature_numerator >= 1) AND (time_signature_numerator <= 64))),
    CONSTRAINT musical_metadata_total_notes_check CHECK ((total_notes >= 0)),
    CONSTRAINT musical_metadata_unique_pitches_check CHECK (((unique_pitches >= 0) AND (unique_pitches <= 128))),
    CONSTRAINT musical_metadata_velocity_max_check CHECK (((velocity_max >= 0) AND (velocity_max <= 127))),
    CONSTRAINT musical_metadata_velocity_min_check CHECK (((velocity_min >= 0) AND (velocity_min <= 127)))
);
CREATE TABLE midi.tags (
    id bigint NOT NULL,
    name text NOT NULL,
    category text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tags_name_check CHECK (((name = lower(btrim(name))) AND (name <> ''::text)))
);
ALTER TABLE midi.tags ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.tags_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.vocabulary (
    word text NOT NULL,
    kind text NOT NULL,
    label text NOT NULL,
    CONSTRAINT vocabulary_kind_check CHECK ((kind = ANY (ARRAY['genre'::text, 'structure'::text]))),
    CONSTRAINT vocabulary_word_check CHECK ((word ~ '^[a-z0-9&]+( [a-z0-9&]+)*$'::text))
);
ALTER TABLE ONLY midi.analysis_errors
    ADD CONSTRAINT analysis_errors_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.favorites
    ADD CONSTRAINT favorites_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.file_categories
    ADD CONSTRAINT file_categories_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.file_instruments
    ADD CONSTRAINT file_instruments_pkey PRIMARY KEY (file_id, channel, program);
ALTER TABLE ONLY midi.file_paths
    ADD CONSTRAINT file_paths_path_key UNIQUE NULLS NOT DISTINCT (path, path_bytes);
ALTER TABLE ONLY midi.file_paths
    ADD CONSTRAINT file_paths_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.file_tags
    ADD CONSTRAINT file_tags_pkey PRIMARY KEY (file_id, tag_id);
ALTER TABLE ONLY midi.files
    ADD CONSTRAINT files_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.import_batches
    ADD CONSTRAINT import_batches_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.import_errors
    ADD CONSTRAINT import_errors_path_key UNIQUE NULLS NOT DISTINCT (path, path_bytes);
ALTER TABLE ONLY midi.import_errors
    ADD CONSTRAINT import_errors_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.musical_metadata
    ADD CONSTRAINT musical_metadata_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.tags
    ADD CONSTRAINT tags_name_key UNIQUE (name);
ALTER TABLE ONLY midi.tags
    ADD CONSTRAINT tags_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.vocabulary
    ADD CONSTRAINT vocabulary_pkey PRIMARY KEY (kind, word);
CREATE INDEX idx_analysis_errors_class ON midi.analysis_errors USING btree (error_class);
CREATE INDEX idx_file_categories_primary ON midi.file_categories USING btree (primary_category);
CREATE INDEX idx_file_instruments_program ON midi.file_instruments USING btree (program, is_drum);
CREATE INDEX idx_file_paths_file ON midi.file_paths USING btree (file_id);
CREATE INDEX idx_file_tags_tag ON midi.file_tags USING btree (tag_id);
CREATE INDEX idx_files_batch ON midi.files USING btree (import_batch_id) WHERE (import_batch_id IS NOT NULL);
CREATE INDEX idx_files_collection ON midi.files USING btree (collection_name) WHERE (collection_name IS NOT NULL);
CREATE UNIQUE INDEX idx_files_content_hash ON midi.files USING btree (content_hash);
CREATE INDEX idx_files_created ON midi.files USING btree (created_at DESC);
CREATE INDEX idx_files_duration ON midi.files USING btree (duration_seconds) WHERE (duration_seconds IS NOT NULL);
CREATE INDEX idx_files_filepath ON midi.files USING btree (filepath);
CREATE INDEX idx_files_folder_tags ON midi.files USING gin (folder_tags);
CREATE INDEX idx_files_format ON midi.files USING btree (format);
CREATE INDEX idx_files_manufacturer ON midi.files USING btree (manufacturer) WHERE (manufacturer IS NOT NULL);
CREATE INDEX idx_files_num_tracks ON midi.files USING btree (num_tracks);
CREATE INDEX idx_files_parent ON midi.files USING btree (parent_file_id) WHERE (parent_file_id IS NOT NULL);
CREATE INDEX idx_files_search ON midi.files USING gin (search_vector);
CREATE INDEX idx_import_errors_batch ON midi.import_errors USING btree (batch_id);
CREATE INDEX idx_import_errors_class ON midi.import_errors USING btree (error_class);
CREATE INDEX idx_import_staging_chunk ON midi.import_staging USING btree (batch_id, chunk);
CREATE INDEX idx_metadata_bpm ON midi.musical_metadata USING btree (bpm) WHERE (bpm IS NOT NULL);
CREATE INDEX idx_metadata_characteristics ON midi.musical_metadata USING btree (is_percussive, is_monophonic, has_chords);
CREATE INDEX idx_metadata_density ON midi.musical_metadata USING btree (note_density DESC);
CREATE INDEX idx_metadata_has_melody ON midi.musical_metadata USING btree (has_melody) WHERE (has_melody = true);
CREATE INDEX idx_metadata_key ON midi.musical_metadata USING btree (key_signature) WHERE (key_signature <> 'UNKNOWN'::midi.musical_key);
CREATE INDEX idx_metadata_notes ON midi.musical_metadata USING btree (total_notes DESC);
CREATE INDEX idx_metadata_pitch_range ON midi.musical_metadata USING btree (pitch_range_min, pitch_range_max);
CREATE INDEX idx_metadata_polyphony ON midi.musical_metadata USING btree (polyphony_max) WHERE (polyphony_max IS NOT NULL);
CREATE INDEX idx_metadata_time_sig ON midi.musical_metadata USING btree (time_signature_numerator, time_signature_denominator);
CREATE TRIGGER files_search_vector BEFORE UPDATE OF filename, manufacturer, collection_name, folder_tags ON midi.files FOR EACH ROW EXECUTE FUNCTION midi._files_search_vector();
CREATE TRIGGER files_search_vector_insert BEFORE INSERT ON midi.files FOR EACH ROW WHEN ((new.search_vector IS NULL)) EXECUTE FUNCTION midi._files_search_vector();
CREATE TRIGGER files_touch_updated_at BEFORE UPDATE ON midi.files FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION midi._touch_updated_at();
CREATE TRIGGER musical_metadata_touch_updated_at BEFORE UPDATE ON midi.musical_metadata FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION midi._touch_updated_at();
ALTER TABLE ONLY midi.analysis_errors
    ADD CONSTRAINT analysis_errors_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.favorites
    ADD CONSTRAINT favorites_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_categories
    ADD CONSTRAINT file_categories_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_instruments
    ADD CONSTRAINT file_instruments_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_paths
    ADD CONSTRAINT file_paths_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_tags
    ADD CONSTRAINT file_tags_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_tags
    ADD CONSTRAINT file_tags_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES midi.tags(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.files
    ADD CONSTRAINT files_parent_file_id_fkey FOREIGN KEY (parent_file_id) REFERENCES midi.files(id) ON DELETE SET NULL;
ALTER TABLE ONLY midi.import_errors
    ADD CONSTRAINT import_errors_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES midi.import_batches(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.musical_metadata
    ADD CONSTRAINT musical_metadata_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
