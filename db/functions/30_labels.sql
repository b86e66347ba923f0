-- Labels derived in SQL from a file's stored facts and names: categories and tags, so they can be
-- re-derived at any time (midi.relabel) without reading a file.

/* _category_tokens: the lower-case words of a file name for category rules: extension dropped,
   camelCase and digit-letter joints split ("BassLoop" -> bass loop, "808Kick" -> 808 kick), '&' read as
   'and', and multi-word genre and structure phrases ("future bass", "drum and bass", matched by the
   `phrases` expression from vocabulary_phrases) removed, because a genre is not a category. */
CREATE OR REPLACE FUNCTION midi._category_tokens(name text, phrases text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_to_array(btrim(regexp_replace(
               CASE WHEN phrases IS NULL THEN n.s ELSE regexp_replace(n.s, phrases, ' ', 'g') END, ' +', ' ', 'g')), ' ')
      FROM (SELECT ' ' || btrim(regexp_replace(lower(
                       regexp_replace(regexp_replace(replace(regexp_replace(name, '\.(mid|midi|kar|rmi|smf)$', '', 'i'),
                                                             '&', ' and '),
                                                     '([a-z]{2})([A-Z])', '\1 \2', 'g'),
                                      '([0-9])([A-Za-z])', '\1 \2', 'g')),
                   '[^a-z0-9]+', ' ', 'g')) || ' ' AS s) n
$$;
COMMENT ON FUNCTION midi._category_tokens(text, text) IS
    'Lower-case words of a file name for category rules (camelCase split, genre phrases removed)';

/* derive_categories: the category rules, applied to the stored facts of the given files (files without
   musical_metadata are left out). Evidence, strongest first:
   1. a category word (midi.category_words) in the file name or the folder words; several: the highest
      weight (specific words like kick or bass outweigh generic ones like groove or synth), then the file
      name over the folders, then the last one in the name;
   2. what is heard: no notes -> nothing; only drum notes -> drums; drums plus two or more pitched
      instruments -> full_mix; else the GM category of the pitched instrument with most notes (program 0
      is every sequencer's default and proves nothing); else by shape: low (top note below C4) and at most
      two voices -> bass; chords with 2.5+ voices on average -> chords (pad when under one note a second);
      a melody -> melody; monophonic and 4+ notes a second -> arp; any chord -> chords; else melody.
   The primary category is the named one, else the heard one, else 'unknown'; the secondary is the heard
   one when it differs, or 'drums' for a pitched part with drums in it. Confidence: 0.95 when name and
   sound agree (a drum word and a drum part agree), 0.8 for a file-name word alone, 0.7 for a folder
   word alone, 0.5 for sound alone. */
CREATE OR REPLACE FUNCTION midi.derive_categories(ids bigint[])
RETURNS TABLE (file_id bigint, primary_category midi.file_category, secondary_category midi.file_category,
               confidence real)
LANGUAGE sql STABLE AS $$
    WITH base AS MATERIALIZED (
        SELECT f.id, f.filename, f.folder_tags, m.total_notes, m.drum_note_count, m.polyphony_max, m.polyphony_avg,
               m.pitch_range_max, m.has_chords, m.has_melody, m.is_monophonic, m.note_density
          FROM (SELECT DISTINCT u.id FROM unnest(ids) AS u(id)) i
          JOIN midi.files f ON f.id = i.id
          JOIN midi.musical_metadata m ON m.file_id = i.id
    ), phrases AS MATERIALIZED (
        SELECT midi.vocabulary_phrases() AS re
    ), words AS (
        SELECT b.id, w.word, 2 AS place, w.ord
          FROM base b CROSS JOIN phrases p CROSS JOIN LATERAL unnest(midi._category_tokens(b.filename, p.re))
               WITH ORDINALITY AS w(word, ord)
        UNION ALL
        SELECT b.id, w.word, 1, w.ord FROM base b CROSS JOIN LATERAL unnest(b.folder_tags) WITH ORDINALITY AS w(word, ord)
    ), named AS (
        SELECT DISTINCT ON (w.id) w.id, cw.category, w.place
          FROM words w JOIN midi.category_words cw ON cw.word = w.word
         ORDER BY w.id, cw.weight DESC, w.place DESC, w.ord DESC
    ), inst AS (
        SELECT fi.file_id AS id, count(*) FILTER (WHERE NOT fi.is_drum) AS pitched,
               (array_agg(fi.program ORDER BY fi.note_count DESC, fi.program) FILTER (WHERE NOT fi.is_drum))[1] AS top_program
          FROM midi.file_instruments fi
         WHERE fi.file_id = ANY (ids)
         GROUP BY fi.file_id
    ), heard AS (
        SELECT b.id,
               (CASE
                    WHEN b.total_notes = 0 THEN NULL
                    WHEN b.drum_note_count >= b.total_notes THEN 'drums'
                    WHEN b.drum_note_count > 0 AND coalesce(i.pitched, 0) >= 2 THEN 'full_mix'
                    WHEN i.top_program <> 0 AND gm.category IS NOT NULL THEN gm.category::text
                    WHEN b.pitch_range_max < 60 AND b.polyphony_max <= 2 THEN 'bass'
                    WHEN b.has_chords AND b.polyphony_avg >= 2.5 THEN CASE WHEN b.note_density < 1 THEN 'pad' ELSE 'chords' END
                    WHEN b.has_melody THEN 'melody'
                    WHEN b.is_monophonic AND b.note_density >= 4 THEN 'arp'
                    WHEN b.has_chords THEN 'chords'
                    ELSE 'melody'
                END)::midi.file_category AS category,
               b.drum_note_count > 0 AND b.drum_note_count < b.total_notes AS with_drums
          FROM base b
          LEFT JOIN inst i ON i.id = b.id
          LEFT JOIN midi.gm_instruments gm ON gm.program = i.top_program
    ), decided AS (
        SELECT b.id, n.category AS named, n.place, h.category AS heard, h.with_drums,
               coalesce(n.category, h.category, 'unknown') AS primary_category
          FROM base b
          LEFT JOIN named n ON n.id = b.id
          LEFT JOIN heard h ON h.id = b.id
    )
    SELECT d.id, d.primary_category,
           CASE WHEN d.heard IS NOT NULL AND d.heard <> d.primary_category
                     AND NOT (d.heard = 'drums' AND d.primary_category IN ('kick', 'snare', 'hats', 'cymbals', 'percussion'))
                THEN d.heard
                WHEN d.with_drums AND d.primary_category NOT IN ('drums', 'full_mix') THEN 'drums'::midi.file_category
           END,
           (CASE
                WHEN d.named IS NULL THEN CASE WHEN d.heard IS NULL THEN 0 ELSE 0.5 END
                WHEN d.named = d.heard
                     OR (d.heard = 'drums' AND d.named IN ('kick', 'snare', 'hats', 'cymbals', 'percussion')) THEN 0.95
                WHEN d.place = 2 THEN 0.8
                ELSE 0.7
            END)::real
      FROM decided d
$$;
COMMENT ON FUNCTION midi.derive_categories(bigint[]) IS
    'Primary and secondary category and confidence of the given analyzed files, from name words and stored facts';

/* _apply_categories: writes derive_categories of the given files into file_categories (unchanged rows
   are not rewritten). Returns the rows written. */
CREATE OR REPLACE FUNCTION midi._apply_categories(ids bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO midi.file_categories AS fc (file_id, primary_category, secondary_category, confidence)
    SELECT d.file_id, d.primary_category, d.secondary_category, d.confidence
      FROM midi.derive_categories(ids) d
     ORDER BY d.file_id
    ON CONFLICT (file_id) DO UPDATE
        SET primary_category = EXCLUDED.primary_category, secondary_category = EXCLUDED.secondary_category,
            confidence = EXCLUDED.confidence
        WHERE (fc.primary_category, fc.secondary_category, fc.confidence)
              IS DISTINCT FROM (EXCLUDED.primary_category, EXCLUDED.secondary_category, EXCLUDED.confidence);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi._apply_categories(bigint[]) IS 'Upserts the derived categories of the given files; returns rows written';

/* derive_tags: the tags the catalog gives the given files, each with its source:
   'analysis': the primary category (not 'unknown'), the BPM bucket of a measured tempo ('120-129 bpm'),
   the chosen key in words ('a minor'); 'path': the manufacturer, genre words of the file name, the
   collection and the folder words, and the BPM bucket and key when they came from the file name. A file
   at MIDI's implicit 120 BPM gets no tempo tag. Files without analysis still get their path tags. */
CREATE OR REPLACE FUNCTION midi.derive_tags(ids bigint[])
RETURNS TABLE (file_id bigint, name text, category text, source text)
LANGUAGE sql STABLE AS $$
    WITH base AS MATERIALIZED (
        SELECT f.id, f.manufacturer, f.collection_name, f.folder_tags, f.filename_genres,
               m.bpm, m.bpm_source, m.key_signature, m.key_source, fc.primary_category
          FROM (SELECT DISTINCT u.id FROM unnest(ids) AS u(id)) i
          JOIN midi.files f ON f.id = i.id
          LEFT JOIN midi.musical_metadata m ON m.file_id = i.id
          LEFT JOIN midi.file_categories fc ON fc.file_id = i.id
    ), places AS MATERIALIZED (
        -- every file of a folder shares its genre words: read each place once, with the vocabulary
        -- built once for all of them
        SELECT p.collection_name, p.folder_tags, ff.genres
          FROM (SELECT DISTINCT b.collection_name, b.folder_tags FROM base b) p
               CROSS JOIN (SELECT midi.vocabulary_map() AS map, midi.vocabulary_phrases() AS phrases OFFSET 0) v
               CROSS JOIN LATERAL midi.filename_facts(
                   concat_ws(' ', p.collection_name, array_to_string(p.folder_tags, ' ')), v.map, v.phrases) ff
    ), tags AS (
        SELECT b.id, b.primary_category::text AS name, 'category' AS category, 'analysis' AS source
          FROM base b WHERE b.primary_category IS NOT NULL AND b.primary_category <> 'unknown'
        UNION ALL
        SELECT b.id, midi.bpm_bucket(b.bpm), 'tempo', CASE WHEN b.bpm_source = 'filename' THEN 'path' ELSE 'analysis' END
          FROM base b WHERE b.bpm IS NOT NULL AND b.bpm_source IN ('meta', 'filename')
        UNION ALL
        SELECT b.id, midi.key_words(b.key_signature), 'key', CASE WHEN b.key_source = 'filename' THEN 'path' ELSE 'analysis' END
          FROM base b WHERE b.key_signature IS NOT NULL AND b.key_signature <> 'UNKNOWN'
        UNION ALL
        SELECT b.id, lower(btrim(b.manufacturer)), 'manufacturer', 'path'
          FROM base b WHERE btrim(coalesce(b.manufacturer, '')) <> ''
        UNION ALL
        SELECT b.id, g.genre, 'genre', 'path'
          FROM base b CROSS JOIN LATERAL unnest(b.filename_genres) AS g(genre)
        UNION ALL
        SELECT b.id, g.genre, 'genre', 'path'
          FROM base b
          JOIN places p ON p.collection_name IS NOT DISTINCT FROM b.collection_name AND p.folder_tags = b.folder_tags
               CROSS JOIN LATERAL unnest(p.genres) AS g(genre)
    )
    SELECT DISTINCT ON (t.id, t.name) t.id, t.name, t.category, t.source
      FROM tags t
     WHERE t.name IS NOT NULL AND t.name <> ''
     ORDER BY t.id, t.name, t.source = 'analysis' DESC
$$;
COMMENT ON FUNCTION midi.derive_tags(bigint[]) IS
    'Tags (name, category, source path|analysis) the catalog derives for the given files';

/* relabel: re-derives categories and the computed tags of the given files (every analyzed file when NULL)
   from the stored facts, e.g. after editing midi.category_words. Returns the files relabelled. */
CREATE OR REPLACE FUNCTION midi.relabel(ids bigint[] DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    todo bigint[] := coalesce(ids, (SELECT array_agg(m.file_id ORDER BY m.file_id) FROM midi.musical_metadata m));
    prev text := current_setting('midi.defer_sync', true);
BEGIN
    IF todo IS NULL OR cardinality(todo) = 0 THEN
        RETURN 0;
    END IF;
    PERFORM set_config('midi.defer_sync', 'on', true);
    PERFORM midi._apply_categories(todo);
    PERFORM set_config('midi.defer_sync', coalesce(prev, ''), true);
    PERFORM midi.sync_files(todo);
    RETURN cardinality(todo);
END;
$$;
COMMENT ON FUNCTION midi.relabel(bigint[]) IS
    'Re-derives categories and the computed tags of the given files (all analyzed files when NULL)';
