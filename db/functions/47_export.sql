-- Export: the catalog as a table (view midi.catalog), the files `midicenter export` writes out
-- (midi.export_rows: what a search, a list of ids or a saved search finds, each with the places its bytes
-- can be read from and the name it gets, rendered here from a template so psql users get the same names),
-- the catalog rows of a search (midi.catalog_rows), and the registration of song parts (midi.split_register).
--
-- Names are built from fixed SQL fragments, one per template field (midi._export_field_list); a template's
-- text never becomes SQL: its literal parts and its values travel as parameters.

-- ------------------------------------------------------------------------------------------- catalog

/* catalog: one row per file with its facts and every path it was seen at. The columns of
   midi.file_details first, in its order and with its types, then the part-of-song columns and further
   facts. `midicenter export --catalog` streams it (COPY); any client can read it. The arrays and the
   favorite and rating columns cost a lookup each, only when selected. */
CREATE OR REPLACE VIEW midi.catalog AS
SELECT f.id, f.filename, f.filepath::text AS filepath, f.file_size_bytes, f.manufacturer, f.collection_name,
       f.folder_tags,
       coalesce(mm.bpm, f.cached_bpm)::float8 AS bpm, coalesce(mm.key_signature, f.cached_key)::text AS key_signature,
       mm.time_signature_numerator, mm.time_signature_denominator, mm.total_notes, mm.is_percussive,
       fc.primary_category::text AS primary_category, fc.secondary_category::text AS secondary_category,
       fav.file_id IS NOT NULL AS is_favorite, r.rating,
       f.duration_seconds, f.num_tracks, f.format,
       ARRAY(SELECT t.name FROM midi.file_tags ft JOIN midi.tags t ON t.id = ft.tag_id
              WHERE ft.file_id = f.id ORDER BY t.name) AS tags,
       ARRAY(SELECT coalesce(fi.instrument_name, CASE WHEN fi.is_drum THEN 'drum kit' ELSE 'program ' || fi.program END)
                    || ' (ch ' || fi.channel + 1 || ')'
               FROM midi.file_instruments fi WHERE fi.file_id = f.id ORDER BY fi.channel, fi.program) AS instruments,
       ARRAY(SELECT p.path::text FROM midi.file_paths p WHERE p.file_id = f.id ORDER BY p.path) AS paths,
       encode(f.content_hash, 'hex') AS content_hash, f.created_at, f.analyzed_at,
       -- beyond midi.file_details
       f.parent_file_id,
       (SELECT ts.track_number FROM midi.track_splits ts
         WHERE ts.split_file_id = f.id AND ts.parent_file_id = f.parent_file_id
         ORDER BY ts.track_number, ts.channel LIMIT 1) AS track_number,
       f.ticks_per_quarter_note, f.duration_ticks, mm.unique_pitches, mm.pitch_range_min, mm.pitch_range_max,
       mm.avg_velocity, mm.note_density, mm.polyphony_max, mm.is_monophonic, mm.has_chords, mm.has_melody
  FROM midi.files f
  LEFT JOIN midi.musical_metadata mm ON mm.file_id = f.id
  LEFT JOIN midi.file_categories fc ON fc.file_id = f.id
  LEFT JOIN midi.favorites fav ON fav.file_id = f.id
  LEFT JOIN midi.ratings r ON r.file_id = f.id;
COMMENT ON VIEW midi.catalog IS
    'One row per file: the columns of midi.file_details, then parent_file_id, track_number and further facts';

-- ---------------------------------------------------------------------------------------- safe names

/* _export_clean: a value made fit to stand inside a file name: control characters (C0, DEL, C1), the
   Unicode line and paragraph separators, bidirectional overrides and the byte order mark, and the
   characters no file system of Linux, macOS or Windows takes in a name (/ \ : * ? " < > |) each become
   "_", after white space (newlines too) at either end is removed. NULL when nothing is left. */
CREATE OR REPLACE FUNCTION midi._export_clean(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT nullif(regexp_replace(regexp_replace(value, '^\s+|\s+$', '', 'g'),
               '[\u0001-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff/\\:*?"<>|]', '_', 'g'), '')
$$;
COMMENT ON FUNCTION midi._export_clean(text) IS
    'Internal: a value with the characters unsafe in file names replaced by _ and outer white space removed';

/* _export_clip: the longest prefix of a text that fits in max_bytes bytes of UTF-8, cut between
   characters (a file system takes 255 bytes per name). */
CREATE OR REPLACE FUNCTION midi._export_clip(value text, max_bytes integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
BEGIN
    -- each step drops whole characters from the end, never more bytes than the excess, until it fits
    WHILE octet_length(value) > max_bytes LOOP
        value := left(value, length(value) - greatest(1, (octet_length(value) - max_bytes) / 4));
    END LOOP;
    RETURN value;
END;
$$;
COMMENT ON FUNCTION midi._export_clip(text, integer) IS
    'Internal: the longest whole-character prefix of a text that fits in max_bytes bytes of UTF-8';

/* export_safe_name: a text made into one safe file or folder name: _export_clean, then a leading dot
   becomes "_" (no hidden files, never "." or ".."), a name Windows reserves for a device (CON, PRN,
   AUX, NUL, COM1-9, LPT1-9, with or without an extension) gets a "_" in front, the name is cut to
   max_bytes bytes of UTF-8 between characters, and dots and white space at its end go (Windows drops
   them). NULL when nothing is left. `midicenter export` and `split` name every file and folder with it. */
CREATE OR REPLACE FUNCTION midi.export_safe_name(name text, max_bytes integer DEFAULT 255) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    c text := midi._export_clean(name);
BEGIN
    IF c IS NULL THEN
        RETURN NULL;
    END IF;
    IF left(c, 1) = '.' THEN
        c := '_' || substr(c, 2);
    END IF;
    IF upper(split_part(c, '.', 1)) IN ('CON', 'PRN', 'AUX', 'NUL', 'COM1', 'COM2', 'COM3', 'COM4', 'COM5', 'COM6',
                                         'COM7', 'COM8', 'COM9', 'LPT1', 'LPT2', 'LPT3', 'LPT4', 'LPT5', 'LPT6',
                                         'LPT7', 'LPT8', 'LPT9') THEN
        c := '_' || c;
    END IF;
    IF octet_length(c) > max_bytes THEN
        c := midi._export_clip(c, max_bytes);
    END IF;
    RETURN nullif(rtrim(c, '. '), '');
END;
$$;
COMMENT ON FUNCTION midi.export_safe_name(text, integer) IS
    'A text as one safe file or folder name: unsafe characters replaced, no leading dot, no device name, cut to max_bytes';

-- ----------------------------------------------------------------------------------- name templates

/* _export_field_list: every field of a name template, the SQL fragment that renders it from a row c of
   midi.catalog (NULL: the field has no value for that file), and what it is. The fields are the columns
   of midi.file_details, plus short names (name, key, category, collection, duration, time_signature,
   hash). A value that only says "not known" (key UNKNOWN, category unknown, false) counts as missing. */
CREATE OR REPLACE FUNCTION midi._export_field_list()
RETURNS TABLE (field text, renders text, about text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES
        ('id', 'c.id::text', 'the file''s id'),
        ('filename', 'c.filename', 'the file name, with its extension'),
        ('name', 'midi._export_base(c.filename)', 'the file name without its extension'),
        ('filepath', 'c.filepath', 'the canonical path (its / become _)'),
        ('file_size_bytes', 'c.file_size_bytes::text', 'size in bytes'),
        ('manufacturer', 'c.manufacturer', 'the manufacturer (first folder under the import root)'),
        ('collection_name', 'c.collection_name', 'the collection (second folder)'),
        ('collection', 'c.collection_name', 'the same as collection_name'),
        ('folder_tags', $f$nullif(array_to_string(c.folder_tags, '-'), '')$f$, 'the words of deeper folders, joined by -'),
        ('bpm', 'trim_scale(round(c.bpm::numeric, 2))::text', 'tempo, at most two decimals (124, 122.5)'),
        ('key_signature', $f$nullif(c.key_signature, 'UNKNOWN')$f$, 'the key as midicenter spells it (C, C#, Eb, ... Am, Bbm)'),
        ('key', $f$nullif(c.key_signature, 'UNKNOWN')$f$, 'the same as key_signature'),
        ('time_signature_numerator', 'c.time_signature_numerator::text', 'beats per bar'),
        ('time_signature_denominator', 'c.time_signature_denominator::text', 'the beat''s note value'),
        ('time_signature', $f$c.time_signature_numerator || '-' || c.time_signature_denominator$f$, 'meter as 4-4, 6-8'),
        ('total_notes', 'c.total_notes::text', 'number of notes'),
        ('is_percussive', $f$CASE WHEN c.is_percussive THEN 'percussive' END$f$, '"percussive" for a drum part'),
        ('primary_category', $f$nullif(c.primary_category, 'unknown')$f$, 'the category (bass, kick, pad, ...)'),
        ('category', $f$nullif(c.primary_category, 'unknown')$f$, 'the same as primary_category'),
        ('secondary_category', $f$nullif(c.secondary_category, 'unknown')$f$, 'the second category'),
        ('is_favorite', $f$CASE WHEN c.is_favorite THEN 'favorite' END$f$, '"favorite" for a favorite'),
        ('rating', 'c.rating::text', 'stars, 1 to 5'),
        ('duration_seconds', 'trim_scale(c.duration_seconds)::text', 'length in seconds'),
        ('duration', 'trim_scale(round(c.duration_seconds))::text', 'length in whole seconds'),
        ('num_tracks', 'c.num_tracks::text', 'number of tracks'),
        ('format', 'c.format::text', 'SMF format, 0 1 or 2'),
        ('tags', $f$nullif(array_to_string(c.tags, '-'), '')$f$, 'tags joined by -'),
        ('instruments', $f$nullif(array_to_string(c.instruments, '-'), '')$f$, 'instruments joined by -'),
        ('paths', $f$nullif(array_to_string(c.paths, '-'), '')$f$, 'every path, joined by -'),
        ('content_hash', 'c.content_hash', 'BLAKE3 of the content, 64 hex digits'),
        ('hash', 'left(c.content_hash, 12)', 'the first 12 hex digits of content_hash'),
        ('created_at', $f$to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')$f$, 'date first imported (UTC)'),
        ('analyzed_at', $f$to_char(c.analyzed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')$f$, 'date last analyzed (UTC)')
$$;
COMMENT ON FUNCTION midi._export_field_list() IS
    'Internal: the fields of export name templates with the fixed SQL fragment that renders each';

/* export_fields: the fields a name template may use, with what each renders. */
CREATE OR REPLACE FUNCTION midi.export_fields() RETURNS TABLE (field text, about text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT l.field, l.about FROM midi._export_field_list() l
$$;
COMMENT ON FUNCTION midi.export_fields() IS 'The fields of export name templates ({bpm}_{key}_{name}) and what each renders';

/* export_template: a name template parsed: its fields in order and the literal texts around them
   (literals has one more element than fields: the text before the first field, between fields, after the
   last). Fields are written {field}; a brace outside a field, an empty or unknown field is an error
   (invalid_parameter_value) naming the known fields. NULL or '' is the default template, {name}. */
CREATE OR REPLACE FUNCTION midi.export_template(template text, OUT fields text[], OUT literals text[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    t text := coalesce(nullif(template, ''), '{name}');
    bad text;
BEGIN
    fields := ARRAY(SELECT m.x[1] FROM regexp_matches(t, '\{([^{}]*)\}', 'g') WITH ORDINALITY AS m(x, i) ORDER BY m.i);
    literals := regexp_split_to_array(t, '\{[^{}]*\}');
    IF cardinality(fields) = 0 OR EXISTS (SELECT 1 FROM unnest(literals) l WHERE l ~ '[{}]') THEN
        RAISE EXCEPTION 'a name template names fields in braces, like {bpm}_{key}_{name}; got %', template
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(DISTINCT '{' || x || '}', ', ') INTO bad
      FROM unnest(fields) x WHERE x NOT IN (SELECT l.field FROM midi._export_field_list() l);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown field % in the name template; the fields are: %', bad,
              (SELECT string_agg(l.field, ', ') FROM midi._export_field_list() l)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;
COMMENT ON FUNCTION midi.export_template(text) IS
    'A name template parsed into its fields and the literal texts around them; an unknown field is an error';

/* _export_join: the file name a template gives one file (without extension): its literal texts and the
   cleaned values of its fields. The text before the first field and after the last is always written;
   text between two fields only when a field before it and the field right after it both have a value,
   so a missing value takes its field and its separator out: '{bpm}_{key}_{name}' without a key gives
   '124_Bass'. NULL when no field has a value. */
CREATE OR REPLACE FUNCTION midi._export_join(vals text[], literals text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    out text := '';
    any_value boolean := false;
    v text;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(vals), 0) LOOP
        v := midi._export_clean(vals[i]);
        CONTINUE WHEN v IS NULL;
        IF any_value THEN
            out := out || literals[i];
        END IF;
        out := out || v;
        any_value := true;
    END LOOP;
    IF NOT any_value THEN
        RETURN NULL;
    END IF;
    RETURN literals[1] || out || literals[cardinality(literals)];
END;
$$;
COMMENT ON FUNCTION midi._export_join(text[], text[]) IS
    'Internal: a template''s literal texts and field values joined; a missing value drops its separator';

/* _export_ext: the extension an exported file keeps: its own MIDI extension in lower case, else .mid. */
CREATE OR REPLACE FUNCTION midi._export_ext(filename text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lower(right(filename, 4)) IN ('.mid', '.kar', '.rmi') THEN lower(right(filename, 4))
                WHEN lower(right(filename, 5)) = '.midi' THEN '.midi'
                ELSE '.mid' END
$$;
COMMENT ON FUNCTION midi._export_ext(text) IS 'Internal: an exported file''s extension: its own (lower case) or .mid';

/* _export_base: a name without its MIDI extension (.mid .midi .kar .rmi, any case). */
CREATE OR REPLACE FUNCTION midi._export_base(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lower(right(name, 4)) IN ('.mid', '.kar', '.rmi') THEN left(name, -4)
                WHEN lower(right(name, 5)) = '.midi' THEN left(name, -5)
                ELSE name END
$$;
COMMENT ON FUNCTION midi._export_base(text) IS 'Internal: a name without its MIDI extension';

/* _export_stem: the safe name (without extension) of one exported file: the rendered template (a MIDI
   extension it ends with is dropped), else the file's own name, else file_<id>; made safe and cut so that
   the name with its extension fits in 255 bytes. */
CREATE OR REPLACE FUNCTION midi._export_stem(rendered text, filename text, id bigint, ext text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    stem text := midi.export_safe_name(midi._export_base(rendered), 255 - octet_length(ext));
BEGIN
    IF stem IS NULL THEN
        stem := midi.export_safe_name(midi._export_base(filename), 255 - octet_length(ext));
    END IF;
    RETURN coalesce(stem, 'file_' || id);
END;
$$;
COMMENT ON FUNCTION midi._export_stem(text, text, bigint, text) IS
    'Internal: the safe name of an exported file without extension (template, else own name, else file_<id>)';

/* _export_sql: the query of midi.export_rows for a template's fields, built from the fixed fragments of
   _export_field_list (an unknown field is an error before this is reached). Parameters: $1 the resolved
   filters (midi._search_args; the WHERE clause is midi._search_where's), $2 ids or NULL, $3 the template's
   literal texts, $4 keep_tree. Names that collide (compared in lower case, as case-insensitive file
   systems do) keep the smallest id's name; the others get ~<id> before the extension. Ordered by canonical
   path, so the members of one archive come together. */
CREATE OR REPLACE FUNCTION midi._export_sql(a midi._search_args, fields text[], with_ids boolean) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    vals text := (SELECT string_agg(l.renders, ', ' ORDER BY u.i)
                    FROM unnest(fields) WITH ORDINALITY AS u(x, i) JOIN midi._export_field_list() l ON l.field = u.x);
BEGIN
    RETURN 'SELECT e.id, e.dest, e.content_hash, e.file_size_bytes, e.source_paths, e.source_bytes, count(*) OVER () AS total'
        || E'\n  FROM (SELECT n.*, CASE WHEN row_number() OVER (PARTITION BY lower(n.dir || n.stem || n.ext) ORDER BY n.id) = 1'
        || E'\n                         THEN n.dir || n.stem || n.ext'
        || E'\n                         ELSE n.dir || midi._export_clip(n.stem, 255 - octet_length(''~'' || n.id || n.ext)) || ''~'' || n.id || n.ext END AS dest'
        || E'\n          FROM (SELECT c.id, c.filepath, decode(c.content_hash, ''hex'') AS content_hash, c.file_size_bytes,'
        || E'\n                       CASE WHEN $4 THEN coalesce(midi.export_safe_name(c.manufacturer), ''(no manufacturer)'') || ''/'''
        || E'\n                                      || coalesce(midi.export_safe_name(c.collection_name), ''(no collection)'') || ''/'''
        || E'\n                            ELSE '''' END AS dir,'
        || E'\n                       midi._export_stem(midi._export_join(ARRAY[' || coalesce(vals, '') || ']::text[], $3),'
        || E'\n                                         c.filename, c.id, midi._export_ext(c.filename)) AS stem,'
        || E'\n                       midi._export_ext(c.filename) AS ext,'
        -- every place the bytes may be read from: canonical first, then present paths, then missing ones
        || E'\n                       coalesce(s.source_paths, ''{}'') AS source_paths, coalesce(s.source_bytes, ''{}'') AS source_bytes'
        || E'\n                  FROM midi.catalog c'
        || E'\n                  CROSS JOIN LATERAL (SELECT array_agg(p.path::text ORDER BY p.path = c.filepath DESC, p.missing_since IS NOT NULL, p.path, p.id) AS source_paths,'
        || E'\n                                             array_agg(p.path_bytes ORDER BY p.path = c.filepath DESC, p.missing_since IS NOT NULL, p.path, p.id) AS source_bytes'
        || E'\n                                        FROM midi.file_paths p WHERE p.file_id = c.id) s'
        || E'\n                 WHERE c.id IN (SELECT f.id FROM midi.files f WHERE ' || midi._search_where(a)
        || CASE WHEN with_ids THEN E'\n                                   AND f.id IN (SELECT unnest($2::bigint[]))' ELSE '' END
        || ')'
        -- OFFSET 0: each row's name is computed once, not once per place the window and the CASE use it
        || E'\n                 OFFSET 0) n) e'
        || E'\n ORDER BY e.filepath, e.id';
END;
$$;
COMMENT ON FUNCTION midi._export_sql(midi._search_args, text[], boolean) IS
    'Internal: the query of midi.export_rows for a filter set and a template''s fields (fixed fragments only)';

/* _saved_filters: the filters a saved search stores (its sort left out); no_data_found when there is none
   of that name. */
CREATE OR REPLACE FUNCTION midi._saved_filters(name text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    flt jsonb;
BEGIN
    SELECT s.filters - 'sort' INTO flt FROM midi.saved_searches s WHERE s.name = btrim(_saved_filters.name);
    IF flt IS NULL THEN
        RAISE EXCEPTION 'no saved search named %', name USING ERRCODE = 'no_data_found';
    END IF;
    RETURN flt;
END;
$$;
COMMENT ON FUNCTION midi._saved_filters(text) IS 'Internal: the filters of a saved search (without its sort)';

/* export_rows: the files an export writes: every file matching the filters (all files when none is
   given), narrowed to ids when given, under the saved search `saved` when given (the filters given here
   are laid over its own). One row per file: its id, dest (the relative path it is written to: the
   template's name, in manufacturer/collection folders with keep_tree), content_hash (bytea, what the
   written bytes must hash to with BLAKE3), size, the places its bytes can be read from (source_paths,
   canonical first, and source_bytes: the exact bytes of a path that is not UTF-8, else NULL), and total,
   the number of rows. Ordered by canonical path. See docs/export.md for the template fields and rules. */
SELECT pg_temp.declare_filtered('export_rows',
    ARRAY['ids bigint[] DEFAULT NULL', 'saved text DEFAULT NULL', 'template text DEFAULT NULL',
          'keep_tree boolean DEFAULT false'],
    'TABLE (id bigint, dest text, content_hash bytea, file_size_bytes bigint, source_paths text[], source_bytes bytea[], total bigint)',
    'plpgsql VOLATILE',  -- VOLATILE: the filters are resolved with EXPLAIN estimates; reads only
    $$
DECLARE
    a midi._search_args;
    t record;
BEGIN
    IF saved IS NOT NULL THEN
        filters := midi._saved_filters(saved) || coalesce(filters, '{}'::jsonb);
    END IF;
    a := midi._search_args({filters});
    t := midi.export_template(template);
    RETURN QUERY EXECUTE midi._export_sql(a, t.fields, ids IS NOT NULL) USING a, ids, t.literals, coalesce(keep_tree, false);
END;
$$,
    'Files an export writes (filters, ids, saved search): id, dest name from the template, content_hash, size, source paths, total');

/* catalog_rows: the rows of midi.catalog for the files matching the filters (all when none is given),
   narrowed to ids and laid over a saved search as export_rows does, by id. */
SELECT pg_temp.declare_filtered('catalog_rows',
    ARRAY['ids bigint[] DEFAULT NULL', 'saved text DEFAULT NULL'],
    'SETOF midi.catalog',
    'plpgsql VOLATILE',
    $$
DECLARE
    a midi._search_args;
BEGIN
    IF saved IS NOT NULL THEN
        filters := midi._saved_filters(saved) || coalesce(filters, '{}'::jsonb);
    END IF;
    a := midi._search_args({filters});
    RETURN QUERY EXECUTE 'SELECT c.* FROM midi.catalog c WHERE c.id IN (SELECT f.id FROM midi.files f WHERE '
                         || midi._search_where(a)
                         || CASE WHEN ids IS NOT NULL THEN ' AND f.id IN (SELECT unnest($2::bigint[]))' ELSE '' END
                         || ') ORDER BY c.id'
        USING a, ids;
END;
$$,
    'Rows of midi.catalog for the files matching the filters (and ids, saved search), by id');

-- ------------------------------------------------------------------------------------------- parts

/* split_register: records the parts `midicenter split --import` wrote of the song `parent`. parts is a
   JSON array of {"content_hash": hex, "track_number": n, "channel": n or null, "track_name": text,
   "instrument": text, "note_count": n}; each part's content must have been imported. A part gets the
   song as parent_file_id when it has none, and, when its own path says nothing (no manufacturer), the
   song's manufacturer, collection and folder tags. Idempotent: splitting again changes nothing. Returns
   each part's file id. */
CREATE OR REPLACE FUNCTION midi.split_register(parent bigint, parts jsonb)
RETURNS TABLE (track_number smallint, channel smallint, file_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    fid bigint;
    song midi.files;
BEGIN
    SELECT * INTO song FROM midi.files f WHERE f.id = parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no file with id %', parent USING ERRCODE = 'no_data_found';
    END IF;
    FOR p IN SELECT * FROM jsonb_to_recordset(parts) AS x(content_hash text, track_number smallint, channel smallint,
                                                         track_name text, instrument text, note_count integer) LOOP
        SELECT f.id INTO fid FROM midi.files f WHERE f.content_hash = decode(p.content_hash, 'hex');
        IF fid IS NULL THEN
            RAISE EXCEPTION 'part % of file % was not imported (no file has content %)', p.track_number, parent,
                  p.content_hash USING ERRCODE = 'no_data_found';
        END IF;
        CONTINUE WHEN fid = parent;  -- a one-track song's only part is the song itself
        INSERT INTO midi.track_splits AS ts (parent_file_id, split_file_id, track_number, channel, track_name,
                                             instrument, note_count)
        VALUES (parent, fid, p.track_number, p.channel, p.track_name, p.instrument, coalesce(p.note_count, 0))
        ON CONFLICT ON CONSTRAINT track_splits_part_key DO UPDATE
            SET split_file_id = EXCLUDED.split_file_id, track_name = EXCLUDED.track_name,
                instrument = EXCLUDED.instrument, note_count = EXCLUDED.note_count
            WHERE (ts.split_file_id, ts.track_name, ts.instrument, ts.note_count)
                  IS DISTINCT FROM (EXCLUDED.split_file_id, EXCLUDED.track_name, EXCLUDED.instrument, EXCLUDED.note_count);
        UPDATE midi.files f SET parent_file_id = parent WHERE f.id = fid AND f.parent_file_id IS NULL;
        UPDATE midi.files f
           SET manufacturer = song.manufacturer, collection_name = song.collection_name, folder_tags = song.folder_tags
         WHERE f.id = fid AND f.manufacturer IS NULL AND song.manufacturer IS NOT NULL;
        track_number := p.track_number;
        channel := p.channel;
        file_id := fid;
        RETURN NEXT;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi.split_register(bigint, jsonb) IS
    'Records the imported parts of a song (track_splits, parent_file_id, the song''s manufacturer and collection)';
