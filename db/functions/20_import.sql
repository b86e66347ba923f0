-- Import: path and filename parsers, and the functions that merge COPY-staged chunks into the catalog.

/* vocabulary_map: the vocabulary as one jsonb object, word -> 'kind:label' ("deep house" -> "genre:deep house").
   filename_facts looks each word of a name up in it: cheaper per name than scanning the table, and built
   once per import chunk. Built from midi.vocabulary, so adding a word needs no code change. */
CREATE OR REPLACE FUNCTION midi.vocabulary_map() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(v.word, v.kind || ':' || v.label), '{}') FROM midi.vocabulary v
$$;
COMMENT ON FUNCTION midi.vocabulary_map() IS 'The vocabulary as jsonb: word or phrase -> kind:label';

/* vocabulary_phrases: a regular expression (non-capturing, PostgreSQL's fast path) that matches when a
   name normalised by filename_facts (lower case, single spaces, a space at both ends) holds one of the
   vocabulary's multi-word phrases ("deep house", "drum and bass"); NULL when there are none. The
   table's check keeps words plain, so they need no escaping. */
CREATE OR REPLACE FUNCTION midi.vocabulary_phrases() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ' (?:' || string_agg(DISTINCT v.word, '|') || ') ' FROM midi.vocabulary v WHERE strpos(v.word, ' ') > 0
$$;
COMMENT ON FUNCTION midi.vocabulary_phrases() IS 'Regular expression matching any multi-word vocabulary phrase in a normalised name';

/* filename_facts: musical facts a file name states, each kept apart so analysis can compare sources.
   bpm: "124bpm", "124_BPM", "BPM 124", "87.5bpm", or the only number in the name when it has 2-3 digits
   and lies in 40..250 ("Bass 124 C" yes, "Vol 3 Bass 124" no).
   key: a key spelled as one token ("Am", "F#m", "Ebmaj", "C#min", "Bb") or two ("A min", "d_minor"),
   the first one in the name; a bare capital letter ("Bass_124_C") only when the name also states a BPM.
   A chord ("Cmaj7", "Am7", "Dm9") is not a key: the mode word must end the token.
   genres / structure: vocabulary words on word boundaries, camelCase split after two lower-case
   letters ("DeepHouse" -> deep house, but "DnB" and "LoFi" stay whole).
   Import runs this once per new file, so it is a set-returning SQL function the planner inlines, and it
   finds tokens with non-capturing expressions (PostgreSQL's fast path) before taking the short match
   apart; OFFSET 0 keeps each step a separate node so no expression is computed twice. The vocabulary
   map and phrase pattern may be passed in (import_merge builds them once per chunk). */
CREATE OR REPLACE FUNCTION midi.filename_facts(name text, vocabulary jsonb DEFAULT NULL, phrases text DEFAULT NULL)
RETURNS TABLE (bpm numeric, key midi.musical_key, genres text[], structure text[])
LANGUAGE sql STABLE PARALLEL SAFE AS $$
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
$$;
COMMENT ON FUNCTION midi.filename_facts(text, jsonb, text) IS
    'BPM, key, genre words and structure words stated by a file name (one row; NULL / {} when absent)';

/* parse_filename: filename_facts as one record, for use in expressions: (midi.parse_filename(n)).key */
CREATE OR REPLACE FUNCTION midi.parse_filename(
    name text, OUT bpm numeric, OUT key midi.musical_key, OUT genres text[], OUT structure text[]
)
LANGUAGE sql STABLE PARALLEL SAFE STRICT AS $$
    SELECT f.bpm, f.key, f.genres, f.structure FROM midi.filename_facts(name) f
$$;
COMMENT ON FUNCTION midi.parse_filename(text) IS
    'BPM, key, genre words and structure words stated by a file name, each separately (NULL / {} when absent)';

/* short_label: a name as stored in an indexed label column (files.filename, manufacturer,
   collection_name, the words of folder_tags). Unchanged up to 255 bytes, the longest name a folder
   entry can have on Linux or macOS, so no name from disk is ever cut; a longer one, which only a zip
   member's name can be, is cut at a character boundary to at most 252 bytes and ends with '…'. A
   btree or GIN entry cannot hold ~2.7 kB, and these columns are indexed; the full name stays in the
   path (file_paths.path, files.filepath) and in files.original_filename. The plpgsql part runs for
   long names only: short_label is not STRICT, so its CASE is inlined wherever it is called. */
/* _cut_label: the plpgsql part of short_label, for names over 255 bytes only. */
CREATE OR REPLACE FUNCTION midi._cut_label(label text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    n integer := least(char_length(label), 252);
    over integer;
BEGIN
    LOOP
        over := octet_length(left(label, n)) - 252;
        EXIT WHEN over <= 0;
        n := n - greatest(1, over / 4);
    END LOOP;
    RETURN left(label, n) || '…';
END;
$$;
COMMENT ON FUNCTION midi._cut_label(text) IS 'A label cut to at most 252 bytes at a character boundary, plus an ellipsis';

/* short_label: see above. */
CREATE OR REPLACE FUNCTION midi.short_label(label text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(label) <= 255 THEN label ELSE midi._cut_label(label) END
$$;
COMMENT ON FUNCTION midi.short_label(text) IS
    'A name as stored in an indexed label column: unchanged up to 255 bytes, else cut to 252 bytes plus an ellipsis';

/* parse_folder: library metadata of a folder path relative to the import root (zip archives count as
   folders, "a.zip!x/" reads as "a/x/"): first folder = manufacturer, second = collection, the words of the
   deeper folders, lower case and each once (in order of first appearance) = folder_tags. Each is a
   short_label. A path of up to 1 kB (every folder on disk, nearly every zip member) is read word by
   word; a longer one, which only a zip member's name can be (65,535 bytes: thousands of folders), is
   deduplicated as a set, so it costs n log n rather than n squared. */
CREATE OR REPLACE FUNCTION midi.parse_folder(
    dir text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[]
)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    parts text[] := array_remove(string_to_array(
        regexp_replace(replace(dir, '!', '/'), '\.zip(/|$)', '\1', 'gi'), '/'), '');
    w text;
BEGIN
    manufacturer := midi.short_label(nullif(btrim(parts[1]), ''));
    collection_name := midi.short_label(nullif(btrim(parts[2]), ''));
    folder_tags := '{}';
    IF octet_length(dir) <= 1024 THEN
        FOR i IN 3..coalesce(cardinality(parts), 0) LOOP
            FOREACH w IN ARRAY regexp_split_to_array(lower(midi.name_words(parts[i])), '\s+') LOOP
                w := midi.short_label(w);
                IF w <> '' AND NOT w = ANY (folder_tags) THEN
                    folder_tags := folder_tags || w;
                END IF;
            END LOOP;
        END LOOP;
        RETURN;
    END IF;
    SELECT coalesce(array_agg(f.w ORDER BY f.i, f.j), '{}') INTO folder_tags
      FROM (SELECT DISTINCT ON (x.w) x.w, x.i, x.j
              FROM (SELECT midi.short_label(wd.w) AS w, p.i, wd.j
                      FROM unnest(parts[3:]) WITH ORDINALITY AS p(part, i)
                           CROSS JOIN LATERAL regexp_split_to_table(lower(midi.name_words(p.part)), '\s+')
                                 WITH ORDINALITY AS wd(w, j)) x
             WHERE x.w <> ''
             ORDER BY x.w, x.i, x.j) f;
END;
$$;
COMMENT ON FUNCTION midi.parse_folder(text) IS
    'Manufacturer (1st folder), collection (2nd) and folder tags (words of deeper folders) of a relative folder path';

/* parse_path: parse_folder of a relative file path's folder, plus its file name (a short_label). */
CREATE OR REPLACE FUNCTION midi.parse_path(
    rel text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[], OUT filename text
)
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT pf.manufacturer, pf.collection_name, pf.folder_tags, midi.short_label(fname)
      FROM (SELECT substring(rel FROM '[^/!]*$') AS fname) f,
           LATERAL midi.parse_folder(left(rel, length(rel) - length(f.fname))) pf
$$;
COMMENT ON FUNCTION midi.parse_path(text) IS
    'Manufacturer, collection, folder tags (see parse_folder) and file name of a path relative to the import root';

/* import_begin: opens an import batch and returns its id; every chunk and error refers to it. */
CREATE OR REPLACE FUNCTION midi.import_begin(roots text[], runner_version text DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO midi.import_batches (roots, runner_version) VALUES (roots, runner_version) RETURNING id
$$;
COMMENT ON FUNCTION midi.import_begin(text[], text) IS 'Opens an import batch for the given roots; returns its id';

/* _staged: the rows of one staged chunk. A function (with ROWS set to the runner's chunk size) rather
   than a plain scan because the staging table is nearly always empty when autovacuum looks at it, so
   its statistics say "1 row" and the planner picks nested loops that cost seconds per chunk. */
CREATE OR REPLACE FUNCTION midi._staged(batch bigint, chunk integer) RETURNS SETOF midi.import_staging
LANGUAGE plpgsql STABLE ROWS 2000 AS $$
BEGIN
    RETURN QUERY SELECT * FROM midi.import_staging s WHERE s.batch_id = batch AND s.chunk = _staged.chunk;
END;
$$;
COMMENT ON FUNCTION midi._staged(bigint, integer) IS 'Rows of one staged import chunk (with a realistic row estimate)';

/* import_refusals: the tests a staged row must pass before it may become a files row, read from the
   catalog, so the reader and the schema agree by construction: every CHECK constraint of midi.files
   whose columns all exist in midi.import_staging under the same name (import_merge copies those
   columns unchanged), every NOT NULL of such a column, and the range of every such column that is
   narrower in files than in staging (an integer staged as integer, stored as smallint). One row per
   test: its name (the constraint's, or "<column>_not_null" / "<column>_range"), the SQL condition that is
   true when a row fails it, and the SQL text of the error message, naming the test and the values. */
CREATE OR REPLACE FUNCTION midi.import_refusals()
RETURNS TABLE (test text, fails text, message text)
LANGUAGE sql STABLE AS $$
    WITH staged AS (
        SELECT a.attname, a.atttypid FROM pg_attribute a
         WHERE a.attrelid = 'midi.import_staging'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    ), stored AS (
        SELECT a.attnum, a.attname, a.atttypid, a.attnotnull FROM pg_attribute a
         WHERE a.attrelid = 'midi.files'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    ), tests AS (
        SELECT c.conname::text AS test, format('NOT coalesce(%s, true)', pg_get_expr(c.conbin, c.conrelid)) AS fails,
               (SELECT string_agg(format('%L || coalesce(%I::text, %L)', t.attname || ' = ', t.attname, 'NULL'),
                                  ' || '', '' || ' ORDER BY t.attname)
                  FROM stored t WHERE t.attnum = ANY (c.conkey)) AS vals,
               format('violates check constraint %s', quote_ident(c.conname)) AS what
          FROM pg_constraint c
         WHERE c.conrelid = 'midi.files'::regclass AND c.contype = 'c'
           AND NOT EXISTS (SELECT 1 FROM stored t WHERE t.attnum = ANY (c.conkey)
                              AND t.attname NOT IN (SELECT s.attname FROM staged s))
        UNION ALL
        SELECT t.attname || '_not_null', format('%I IS NULL', t.attname), NULL,
               format('violates not-null constraint of column %s', quote_ident(t.attname))
          FROM stored t JOIN staged s USING (attname)
         WHERE t.attnotnull
        UNION ALL
        SELECT t.attname || '_range', format('%I NOT BETWEEN %s AND %s', t.attname, -r.hi - 1, r.hi),
               format('%L || %I::text', t.attname || ' = ', t.attname),
               format('value out of range for type %s', format_type(t.atttypid, NULL))
          FROM stored t JOIN staged s USING (attname)
               CROSS JOIN LATERAL (SELECT CASE t.atttypid WHEN 'int2'::regtype THEN 32767::bigint
                                                          WHEN 'int4'::regtype THEN 2147483647::bigint END AS hi) r
         WHERE r.hi IS NOT NULL AND s.atttypid IN ('int4'::regtype, 'int8'::regtype) AND s.atttypid <> t.atttypid
    )
    SELECT t.test, t.fails,
           format('%L', 'files refuses the row: ' || t.what) || coalesce(format(' || %L || ', ' (') || t.vals || ' || '')''', '')
      FROM tests t
     ORDER BY t.test
$$;
COMMENT ON FUNCTION midi.import_refusals() IS
    'The tests (from the catalog: files CHECKs, NOT NULLs, type ranges) a staged row must pass to become a files row';

/* _import_refuse_sql: one UPDATE of a staged chunk that turns every row failing an import_refusals test
   into an error row of class 'rejected' whose message names the tests it failed and the values. */
CREATE OR REPLACE FUNCTION midi._import_refuse_sql() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('UPDATE midi.import_staging SET error_class = %L, message = concat_ws(%L, %s) '
                  'WHERE batch_id = $1 AND chunk = $2 AND error_class IS NULL AND (%s)',
                  'rejected', '; ',
                  coalesce(string_agg(format('CASE WHEN %s THEN %s END', r.fails, r.message), ', ' ORDER BY r.test), 'NULL'),
                  coalesce(string_agg(r.fails, ' OR ' ORDER BY r.test), 'false'))
      FROM midi.import_refusals() r
$$;
COMMENT ON FUNCTION midi._import_refuse_sql() IS
    'The UPDATE that import_merge runs on a staged chunk to turn rows files would refuse into rejected error rows';

/* import_merge: moves one COPY-staged chunk into the catalog, in the caller's transaction: new contents
   into files (ON CONFLICT on content_hash, so concurrent imports never duplicate), every path into
   file_paths, every rejected file into import_errors, counts into import_batches. Rows are taken in
   key order so that two imports of overlapping trees lock in the same order. Rows that files would
   refuse (import_refusals) become 'rejected' error rows first, so one odd file never fails its chunk;
   the runner splits a chunk that fails anyway until the row at fault is alone (see runner/importer.py).
   Returns the chunk's counts. */
CREATE OR REPLACE FUNCTION midi.import_merge(batch bigint, chunk integer)
RETURNS TABLE (files_seen integer, files_new integer, duplicates integer, errors integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_ok integer;
    v_err integer;
    v_new integer;
    v_bytes bigint;
    v_vocab jsonb := midi.vocabulary_map();
    v_phrases text := midi.vocabulary_phrases();
BEGIN
    EXECUTE midi._import_refuse_sql() USING batch, chunk;

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
        -- columns named as in import_staging are copied unchanged: import_refusals tests them
        INSERT INTO midi.files (filename, filepath, original_filename, content_hash, file_size_bytes, format,
                                num_tracks, header_tracks, ticks_per_quarter_note, smpte_fps, smpte_resolution,
                                is_rmid, midi_warnings, manufacturer, collection_name, folder_tags,
                                filename_bpm, filename_key, filename_genres, filename_structure, import_batch_id,
                                search_vector, cached_bpm, cached_key)
        SELECT midi.short_label(c.fname), c.path, c.fname, c.content_hash, c.file_size_bytes, c.format,
               c.num_tracks, c.header_tracks, c.ticks_per_quarter_note, c.smpte_fps,
               c.smpte_resolution, c.is_rmid, coalesce(c.warnings, '{}'),
               fo.manufacturer, fo.collection_name, fo.folder_tags,
               pf.bpm, pf.key, pf.genres, pf.structure, batch,
               midi.name_vector(c.fname) || fo.place_vector,
               pf.bpm, pf.key  -- until analysis measures them, what the name states (no row trigger needed)
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
    ON CONFLICT (midi.path_head(path), midi.path_digest(path, path_bytes)) DO UPDATE
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
       SET filepath = mv.path, filename = midi.short_label(mv.fname), original_filename = mv.fname,
           manufacturer = pf.manufacturer, collection_name = pf.collection_name, folder_tags = pf.folder_tags,
           filename_bpm = ff.bpm, filename_key = ff.key, filename_genres = ff.genres, filename_structure = ff.structure
      FROM moved mv
           CROSS JOIN LATERAL midi.parse_folder(mv.dir) pf
           CROSS JOIN LATERAL midi.filename_facts(mv.fname, v_vocab, v_phrases) ff
     WHERE f.id = mv.id;

    IF v_ok > 0 AND EXISTS (SELECT 1 FROM midi.import_errors) THEN
        -- a location that imports now has no error row any more (a unique-key probe per path)
        DELETE FROM midi.import_errors e
         USING midi._staged(batch, chunk) s
         WHERE s.error_class IS NULL
           AND midi.path_head(e.path) = midi.path_head(s.path)
           AND midi.path_digest(e.path, e.path_bytes) = midi.path_digest(s.path, s.path_bytes);
    END IF;

    IF v_err > 0 THEN
        INSERT INTO midi.import_errors AS e (path, path_bytes, batch_id, error_class, message, file_size_bytes)
        SELECT DISTINCT ON (s.path, s.path_bytes) s.path, s.path_bytes, batch, s.error_class,
               coalesce(s.message, s.error_class), s.file_size_bytes
          FROM midi._staged(batch, chunk) s
         WHERE s.error_class IS NOT NULL
         ORDER BY s.path, s.path_bytes
        ON CONFLICT (midi.path_head(path), midi.path_digest(path, path_bytes)) DO UPDATE
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
$$;
COMMENT ON FUNCTION midi.import_merge(bigint, integer) IS
    'Merges one staged chunk into files, file_paths and import_errors; returns (files_seen, files_new, duplicates, errors)';

/* _under_roots: true when a stored path lies under one of an import's roots (a folder, or an archive). */
CREATE OR REPLACE FUNCTION midi._under_roots(path text, roots text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1 FROM unnest(roots) r
         WHERE path = r
            OR left(path, length(rtrim(r, '/')) + 1) = rtrim(r, '/') || '/'
            OR left(path, length(r) + 1) = r || '!')
$$;
COMMENT ON FUNCTION midi._under_roots(text, text[]) IS 'Whether a path lies under one of the given roots';

/* _prefix_after: the smallest text above every text that starts with `prefix`, in byte order (COLLATE
   "C"): the prefix with its last character raised by one code point (a last character that cannot be
   raised is dropped first). NULL when there is none (an empty prefix, or nothing but U+10FFFF). With it,
   "starts with prefix" is the index range [prefix, _prefix_after(prefix)). */
CREATE OR REPLACE FUNCTION midi._prefix_after(prefix text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    p text := prefix;
    c integer;
BEGIN
    WHILE p <> '' LOOP
        c := ascii(right(p, 1));
        p := left(p, -1);
        IF c < 1114111 THEN
            RETURN p || chr(CASE WHEN c + 1 BETWEEN 55296 AND 57343 THEN 57344 ELSE c + 1 END);
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi._prefix_after(text) IS 'Smallest text above every text starting with prefix (byte order); NULL if none';

/* import_finish: closes a batch. With prune, paths under its roots that this run did not see are marked
   missing (never deleted: no location is lost), stale error rows there are dropped, and a file whose
   canonical path went missing takes one of its present paths, so a moved file follows its move. Each
   root is one range of the path unique indexes (path_head), so pruning a folder reads that folder's
   rows, not the whole catalog. What the run could not look into is not pruned: a root that is missing or
   unreadable (an unmounted drive), a folder it could not list, an archive it could not open: every path
   under the roots that got an error during this run, other than a file whose bytes were read and refused
   (empty, not_midi, truncated_header, bad_header, too_large, rejected), shields itself and everything
   under it. */
CREATE OR REPLACE FUNCTION midi.import_finish(batch bigint, other_files bigint DEFAULT 0, prune boolean DEFAULT false)
RETURNS midi.import_batches
LANGUAGE plpgsql AS $$
DECLARE
    b midi.import_batches;
    unseen text[];
    r text;
    lo text;
    hi text;
BEGIN
    SELECT * INTO b FROM midi.import_batches WHERE id = batch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'import batch % does not exist', batch USING ERRCODE = 'no_data_found';
    END IF;
    IF prune THEN
        unseen := ARRAY(SELECT e.path FROM midi.import_errors e
                         WHERE e.last_seen >= b.started_at AND midi._under_roots(e.path, b.roots)
                           AND e.error_class NOT IN ('empty', 'not_midi', 'truncated_header', 'bad_header',
                                                     'too_large', 'rejected'));
        FOREACH r IN ARRAY b.roots LOOP
            -- every path under r starts with r (without a trailing slash), and path_head keeps at least
            -- its first 512 characters: one range of the unique index
            lo := left(rtrim(r, '/'), 512);
            hi := coalesce(midi._prefix_after(lo), repeat(chr(1114111), 513));
            UPDATE midi.file_paths fp SET missing_since = now()
             WHERE midi.path_head(fp.path) >= lo AND midi.path_head(fp.path) < hi
               AND fp.missing_since IS NULL AND fp.last_seen < b.started_at AND midi._under_roots(fp.path, ARRAY[r])
               AND NOT midi._under_roots(fp.path, unseen);
            -- a file whose canonical path under r is missing takes its smallest present path
            UPDATE midi.files f
               SET filepath = np.path, filename = (midi.parse_path(np.path)).filename,
                   original_filename = substring(np.path FROM '[^/!]*$')
              FROM midi.file_paths old
                   CROSS JOIN LATERAL (
                       SELECT p.path FROM midi.file_paths p
                        WHERE p.file_id = old.file_id AND p.missing_since IS NULL
                        ORDER BY p.path LIMIT 1) np
             WHERE midi.path_head(old.path) >= lo AND midi.path_head(old.path) < hi
               AND old.missing_since IS NOT NULL AND midi._under_roots(old.path, ARRAY[r])
               AND f.id = old.file_id AND f.filepath = old.path;
            DELETE FROM midi.import_errors e
             WHERE midi.path_head(e.path) >= lo AND midi.path_head(e.path) < hi
               AND e.last_seen < b.started_at AND midi._under_roots(e.path, ARRAY[r])
               AND NOT midi._under_roots(e.path, unseen);
        END LOOP;
    END IF;
    UPDATE midi.import_batches
       SET status = 'done', finished_at = now(), other_files = import_finish.other_files
     WHERE id = batch
    RETURNING * INTO b;
    RETURN b;
END;
$$;
COMMENT ON FUNCTION midi.import_finish(bigint, bigint, boolean) IS
    'Closes an import batch (optionally marking unseen paths under its roots missing); returns the batch row';
