-- Analysis: claiming work, applying COPY-staged batches of facts, and the labels derived in SQL from the
-- stored facts (key from the pitch-class histogram, category, tags), so they can be re-derived at any
-- time without reading a file.

/* _rebuild_key_templates: fills key_templates from key_profiles: for each profile and each of the 24
   keys, the profile rotated to that tonic, centred and scaled to unit length, so the Pearson correlation
   of a histogram with a key is one dot product divided by the histogram's centred norm. Returns the
   number of templates written. */
CREATE OR REPLACE FUNCTION midi._rebuild_key_templates() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM midi.key_templates;
    INSERT INTO midi.key_templates (profile, key, weights)
    SELECT r.name, midi.key_name(r.tonic, r.minor), array_agg((r.w - s.mean) / s.norm ORDER BY r.i)
      FROM (SELECT p.name, t.tonic, m.minor, i.i,
                   -- weight of pitch class i in the key on this tonic: the profile's weight of (i - tonic)
                   (CASE WHEN m.minor THEN p.minor ELSE p.major END)[((i.i - t.tonic + 12) % 12) + 1] AS w
              FROM midi.key_profiles p, generate_series(0, 11) AS t(tonic), (VALUES (false), (true)) AS m(minor),
                   generate_series(0, 11) AS i(i)) r
      JOIN (SELECT p.name, m.minor, avg(x) AS mean, sqrt(sum(x ^ 2) - sum(x) ^ 2 / 12) AS norm
              FROM midi.key_profiles p, (VALUES (false), (true)) AS m(minor),
                   unnest(CASE WHEN m.minor THEN p.minor ELSE p.major END) AS x
             GROUP BY p.name, m.minor) s ON s.name = r.name AND s.minor = r.minor
     GROUP BY r.name, r.tonic, r.minor;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi._rebuild_key_templates() IS
    'Rebuilds key_templates (24 centred unit-length rotations per profile) from key_profiles; returns rows written';

/* _key_profiles_changed: statement trigger on key_profiles: any change rebuilds the templates. */
CREATE OR REPLACE FUNCTION midi._key_profiles_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM midi._rebuild_key_templates();
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi._key_profiles_changed() IS 'Trigger function: rebuilds key_templates after key_profiles change';

CREATE OR REPLACE TRIGGER key_profiles_templates
    AFTER INSERT OR UPDATE OF name, major, minor OR DELETE ON midi.key_profiles
    FOR EACH STATEMENT EXECUTE FUNCTION midi._key_profiles_changed();

-- Templates for the profiles the migration inserted (idempotent; re-run after every migrate).
SELECT midi._rebuild_key_templates();

/* _dot12: the dot product of two 12-element arrays, written out so the planner inlines it into one
   expression (no unnest, no loop): a key correlation costs 12 multiplications. */
CREATE OR REPLACE FUNCTION midi._dot12(a float8[], b float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT a[1] * b[1] + a[2] * b[2] + a[3] * b[3] + a[4] * b[4] + a[5] * b[5] + a[6] * b[6]
         + a[7] * b[7] + a[8] * b[8] + a[9] * b[9] + a[10] * b[10] + a[11] * b[11] + a[12] * b[12]
$$;
COMMENT ON FUNCTION midi._dot12(float8[], float8[]) IS 'Dot product of two 12-element arrays (inlined)';

/* _centred_norm12: the length of a 12-element array minus its mean; 0 for a flat or empty histogram. */
CREATE OR REPLACE FUNCTION midi._centred_norm12(h float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sqrt(greatest(0, midi._dot12(h, h)
           - (h[1] + h[2] + h[3] + h[4] + h[5] + h[6] + h[7] + h[8] + h[9] + h[10] + h[11] + h[12]) ^ 2 / 12))
$$;
COMMENT ON FUNCTION midi._centred_norm12(float8[]) IS 'Euclidean norm of a 12-element array after subtracting its mean';

/* default_key_profile: the name of the profile analysis estimates keys with (Aarden-Essen unless
   redetect_keys chose another). */
CREATE OR REPLACE FUNCTION midi.default_key_profile() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p.name FROM midi.key_profiles p WHERE p.is_default
$$;
COMMENT ON FUNCTION midi.default_key_profile() IS 'Name of the key profile analysis uses (the is_default row)';

/* estimate_key: the key of a pitch-class histogram (C first) by Pearson correlation with the 24
   rotations of a key profile (the default profile when none is named): best and second-best key, their
   correlations, and a confidence from the gap, (r1 - r2) / (1 - r2), 0 when the best correlation is not
   positive. No row for a flat or all-zero histogram (drums only, no notes): no key can be told. A
   set-returning SQL function so that the planner inlines it into the batch statements. */
CREATE OR REPLACE FUNCTION midi.estimate_key(histogram float8[], profile text DEFAULT NULL)
RETURNS TABLE (key midi.musical_key, second_key midi.musical_key, correlation float8, second_correlation float8,
               confidence real, key_profile text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.k1, b.k2, b.r1, b.r2,
           CASE WHEN b.r1 > 0 THEN least(1, greatest(0, (b.r1 - b.r2) / nullif(1 - b.r2, 0)))::real ELSE 0 END,
           a.p
      FROM (SELECT coalesce(profile, (SELECT p.name FROM midi.key_profiles p WHERE p.is_default)) AS p,
                   midi._centred_norm12(histogram) AS norm) a
           CROSS JOIN LATERAL (
               SELECT (array_agg(x.key ORDER BY x.r DESC, x.key))[1] AS k1,
                      (array_agg(x.key ORDER BY x.r DESC, x.key))[2] AS k2,
                      max(x.r) AS r1, min(x.r) AS r2
                 FROM (SELECT t.key, midi._dot12(histogram, t.weights) / a.norm AS r
                         FROM midi.key_templates t
                        WHERE t.profile = a.p AND a.norm > 1e-9 AND cardinality(histogram) = 12
                        ORDER BY 2 DESC, t.key
                        LIMIT 2) x) b
     WHERE b.k1 IS NOT NULL
$$;
COMMENT ON FUNCTION midi.estimate_key(float8[], text) IS
    'Best and second key of a 12-bin pitch-class histogram by profile correlation, with confidence (no row when flat)';

/* choose_key: the key a file is labelled with, and where it came from: a key-signature event first
   (a lone C major was already dropped by the analyzer: sequencers write it by default), then the key
   the file name states, then the estimate from the notes. One row; a set-returning SQL function so the
   planner inlines it into the batch statements. */
CREATE OR REPLACE FUNCTION midi.choose_key(
    from_signature midi.musical_key, from_filename midi.musical_key, estimate midi.musical_key
) RETURNS TABLE (key midi.musical_key, source text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(from_signature, from_filename, estimate, 'UNKNOWN'),
           CASE WHEN from_signature IS NOT NULL THEN 'signature'
                WHEN from_filename IS NOT NULL THEN 'filename'
                WHEN estimate IS NOT NULL THEN 'estimate' END
$$;
COMMENT ON FUNCTION midi.choose_key(midi.musical_key, midi.musical_key, midi.musical_key) IS
    'Chosen key and its source: signature, else filename, else estimate (UNKNOWN / NULL when none)';

/* key_words: a key as words for tags and people: 'Ebm' -> 'eb minor', 'F#' -> 'f# major'. */
CREATE OR REPLACE FUNCTION midi.key_words(k midi.musical_key) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k = 'UNKNOWN' THEN NULL
                WHEN right(k::text, 1) = 'm' THEN lower(left(k::text, -1)) || ' minor'
                ELSE lower(k::text) || ' major' END
$$;
COMMENT ON FUNCTION midi.key_words(midi.musical_key) IS 'A key in words, lower case: Ebm -> eb minor (NULL for UNKNOWN)';

/* bpm_bucket: the 10-BPM tag a tempo falls in: 124.5 -> '120-129 bpm'. */
CREATE OR REPLACE FUNCTION midi.bpm_bucket(bpm numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT (floor(bpm / 10) * 10)::integer || '-' || ((floor(bpm / 10) * 10)::integer + 9) || ' bpm'
$$;
COMMENT ON FUNCTION midi.bpm_bucket(numeric) IS 'The 10-BPM bucket tag of a tempo: 124.5 -> 120-129 bpm';

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

/* _apply_tags: makes the 'analysis' and 'path' tags of the given files equal to derive_tags: missing tag
   names are created (in name order, so concurrent batches never deadlock on them), stale tags of those
   two sources are removed, 'user' tags are never touched. Returns the file_tags rows added. */
CREATE OR REPLACE FUNCTION midi._apply_tags(ids bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    w_file bigint[];
    w_name text[];
    w_cat text[];
    w_src text[];
    n integer;
BEGIN
    SELECT coalesce(array_agg(d.file_id), '{}'), coalesce(array_agg(d.name), '{}'),
           coalesce(array_agg(d.category), '{}'), coalesce(array_agg(d.source), '{}')
      INTO w_file, w_name, w_cat, w_src
      FROM midi.derive_tags(ids) d;

    INSERT INTO midi.tags (name, category)
    SELECT DISTINCT ON (w.name) w.name, w.category
      FROM unnest(w_name, w_cat) AS w(name, category)
     WHERE NOT EXISTS (SELECT 1 FROM midi.tags t WHERE t.name = w.name)
     ORDER BY w.name
    ON CONFLICT (name) DO NOTHING;

    DELETE FROM midi.file_tags ft
     WHERE ft.file_id = ANY (ids) AND ft.source IN ('analysis', 'path')
       AND NOT EXISTS (SELECT 1 FROM unnest(w_file, w_name) AS w(file_id, name)
                         JOIN midi.tags t ON t.name = w.name
                        WHERE w.file_id = ft.file_id AND t.id = ft.tag_id);

    INSERT INTO midi.file_tags AS ft (file_id, tag_id, source)
    SELECT w.file_id, t.id, w.source
      FROM unnest(w_file, w_name, w_src) AS w(file_id, name, source)
      JOIN midi.tags t ON t.name = w.name
     ORDER BY w.file_id, t.id
    ON CONFLICT (file_id, tag_id) DO UPDATE SET source = EXCLUDED.source
        WHERE ft.source <> 'user' AND ft.source <> EXCLUDED.source;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi._apply_tags(bigint[]) IS
    'Sets the analysis and path tags of the given files to derive_tags (user tags untouched); returns rows written';

/* relabel: re-derives categories and analysis/path tags of the given files (every analyzed file when
   NULL) from the stored facts, e.g. after editing midi.category_words. Returns the files relabelled. */
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
    PERFORM midi._apply_tags(todo);
    PERFORM set_config('midi.defer_sync', coalesce(prev, ''), true);
    PERFORM midi.sync_files(todo);
    RETURN cardinality(todo);
END;
$$;
COMMENT ON FUNCTION midi.relabel(bigint[]) IS
    'Re-derives categories and analysis/path tags of the given files (all analyzed files when NULL)';

/* analysis_next_batch: a fresh batch number for analysis_staging rows (one per claimed batch). */
CREATE OR REPLACE FUNCTION midi.analysis_next_batch() RETURNS bigint
LANGUAGE sql AS $$
    SELECT nextval('midi.analysis_batch_seq')
$$;
COMMENT ON FUNCTION midi.analysis_next_batch() IS 'A new analysis batch number for analysis_staging';

/* analysis_needed: whether a file needs (re)analysis by an analyzer of `version`: never analyzed,
   analyzed by an older analyzer, or (with reanalyze_before) analyzed before that moment. */
CREATE OR REPLACE FUNCTION midi.analysis_needed(
    analyzed_at timestamptz, analyzer_version integer, version integer, reanalyze_before timestamptz DEFAULT NULL
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT analyzed_at IS NULL OR analyzer_version IS NULL OR analyzer_version < version
        OR coalesce(analyzed_at < reanalyze_before, false)
$$;
COMMENT ON FUNCTION midi.analysis_needed(timestamptz, integer, integer, timestamptz) IS
    'True when a file is unanalyzed, analyzed by an older analyzer, or analyzed before reanalyze_before';

/* analysis_pending: how many files an analysis run would take (for progress display). */
CREATE OR REPLACE FUNCTION midi.analysis_pending(version integer, reanalyze_before timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM midi.files f
     WHERE midi.analysis_needed(f.analyzed_at, f.analyzer_version, version, reanalyze_before)
$$;
COMMENT ON FUNCTION midi.analysis_pending(integer, timestamptz) IS 'Number of files needing analysis';

/* analysis_claim: locks the next files (by id, after after_id) that need analysis, at most max_files,
   skipping files another session holds (FOR NO KEY UPDATE SKIP LOCKED), and returns where to read each
   one: its present paths, the canonical path first, and whether the import found its structure suspect.
   The locks last until the caller's transaction ends, so the caller claims, analyzes and applies in one
   transaction: concurrent runners share the work without overlap, and a runner that dies releases its
   files with its transaction. The caller passes the last id it got as after_id (keyset, not OFFSET: each
   claim starts where the last ended). */
CREATE OR REPLACE FUNCTION midi.analysis_claim(
    after_id bigint, max_files integer, version integer, reanalyze_before timestamptz DEFAULT NULL
) RETURNS TABLE (file_id bigint, paths text[], paths_bytes bytea[], suspect boolean)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH claimed AS (
        SELECT f.id, f.filepath, f.midi_warnings
          FROM midi.files f
         WHERE f.id > after_id
           AND midi.analysis_needed(f.analyzed_at, f.analyzer_version, version, reanalyze_before)
         ORDER BY f.id
         LIMIT max_files
           FOR NO KEY UPDATE SKIP LOCKED
    )
    SELECT c.id, coalesce(p.paths, ARRAY[c.filepath::text]), coalesce(p.bytes, ARRAY[NULL::bytea]),
           cardinality(c.midi_warnings) > 0
      FROM claimed c
           LEFT JOIN LATERAL (
               SELECT array_agg(fp.path::text ORDER BY fp.path <> c.filepath, fp.missing_since IS NOT NULL, fp.path, fp.path_bytes) AS paths,
                      array_agg(fp.path_bytes ORDER BY fp.path <> c.filepath, fp.missing_since IS NOT NULL, fp.path, fp.path_bytes) AS bytes
                 FROM midi.file_paths fp
                WHERE fp.file_id = c.id) p ON true
     ORDER BY c.id;
END;
$$;
COMMENT ON FUNCTION midi.analysis_claim(bigint, integer, integer, timestamptz) IS
    'Locks (SKIP LOCKED) up to max_files files after after_id that need analysis; returns their paths (canonical first) and suspect flag';

/* _analysis_staged: the rows of one staged analysis batch. A function with a realistic ROWS estimate
   because the staging table is nearly always empty when autovacuum looks at it (see midi._staged). */
CREATE OR REPLACE FUNCTION midi._analysis_staged(batch bigint) RETURNS SETOF midi.analysis_staging
LANGUAGE plpgsql STABLE ROWS 1000 AS $$
BEGIN
    RETURN QUERY SELECT * FROM midi.analysis_staging s WHERE s.batch = _analysis_staged.batch;
END;
$$;
COMMENT ON FUNCTION midi._analysis_staged(bigint) IS 'Rows of one staged analysis batch (with a realistic row estimate)';

/* analysis_apply: moves one COPY-staged batch into the catalog in the caller's transaction (the one that
   claimed the files). For each analyzed file: musical_metadata upserted (BPM from a tempo event, else the
   file name, else the default 120, clamped to the column; the key estimated from the histogram with the
   default profile and chosen with provenance), file_instruments replaced, categories and tags derived,
   analysis_errors cleared. For each failed file: its analysis_errors row, and no stale facts left behind.
   Every file of the batch gets analyzed_at and analyzer_version (a failure is an answer too: it is not
   retried until the analyzer changes or --reanalyze), analyzed files their duration, and the search
   columns of files (cached_*, tag_ids, search_vector) are brought up to date in the same row update.
   Returns (analyzed, errors). */
CREATE OR REPLACE FUNCTION midi.analysis_apply(batch bigint, version integer)
RETURNS TABLE (analyzed integer, errors integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_profile text := midi.default_key_profile();
    v_prev text := current_setting('midi.defer_sync', true);
    v_ok bigint[];
    v_err bigint[];
BEGIN
    SELECT coalesce(array_agg(DISTINCT s.file_id) FILTER (WHERE s.error_class IS NULL), '{}'),
           coalesce(array_agg(DISTINCT s.file_id) FILTER (WHERE s.error_class IS NOT NULL), '{}')
      INTO v_ok, v_err
      FROM midi._analysis_staged(batch) s;
    v_err := ARRAY(SELECT unnest(v_err) EXCEPT SELECT unnest(v_ok));  -- a file twice: the success wins
    PERFORM set_config('midi.defer_sync', 'on', true);

    IF cardinality(v_ok) > 0 THEN
        INSERT INTO midi.musical_metadata AS m (
            file_id, bpm, bpm_source, has_tempo_changes, tempo_map, key_signature, key_source, key_from_signature,
            key_from_filename, key_estimate, key_estimate_second, key_correlation, key_confidence, key_profile,
            time_signature_numerator, time_signature_denominator, time_signatures, total_notes, drum_note_count,
            unique_pitches, pitch_range_min, pitch_range_max, velocity_min, avg_velocity, velocity_max, note_density,
            polyphony_max, polyphony_avg, is_percussive, is_monophonic, has_chords, has_melody, pitch_class_histogram,
            track_names, instrument_names, copyright, markers, has_lyrics, parser)
        SELECT s.file_id,
               CASE WHEN s.bpm_source = 'meta' OR f.filename_bpm IS NULL
                    THEN least(greatest(round(s.bpm::numeric, 2), 1), 1000) ELSE f.filename_bpm END,
               CASE WHEN s.bpm_source = 'meta' THEN 'meta' WHEN f.filename_bpm IS NOT NULL THEN 'filename' ELSE 'default' END,
               coalesce(s.has_tempo_changes, false), s.tempo_map,
               ck.key, ck.source, s.key_from_signature::midi.musical_key, f.filename_key,
               e.key, e.second_key, round(e.correlation::numeric, 6)::real, e.confidence, e.key_profile,
               ts.num, ts.den, s.time_signatures, coalesce(s.total_notes, 0), coalesce(s.drum_note_count, 0),
               s.unique_pitches, s.pitch_min, s.pitch_max, s.velocity_min, round(s.velocity_avg::numeric, 2), s.velocity_max,
               least(round(s.note_density::numeric, 3), 9999999.999),
               least(s.polyphony_max, 32767), least(round(s.polyphony_avg::numeric, 2), 9999.99),
               coalesce(s.is_percussive, false), coalesce(s.is_monophonic, false), coalesce(s.has_chords, false),
               coalesce(s.has_melody, false), s.pitch_class_histogram,
               coalesce(s.track_names, '{}'), coalesce(s.instrument_names, '{}'), s.copyright,
               coalesce(s.markers, '{}'), coalesce(s.has_lyrics, false), s.parser
          FROM (SELECT DISTINCT ON (x.file_id) x.* FROM midi._analysis_staged(batch) x
                 WHERE x.error_class IS NULL ORDER BY x.file_id) s
          JOIN midi.files f ON f.id = s.file_id
          LEFT JOIN LATERAL midi.estimate_key(s.pitch_class_histogram, v_profile) e ON true
          CROSS JOIN LATERAL midi.choose_key(s.key_from_signature::midi.musical_key, f.filename_key, e.key) ck
          CROSS JOIN LATERAL (
              SELECT CASE WHEN ok THEN s.time_signature_numerator END AS num,
                     CASE WHEN ok THEN s.time_signature_denominator END AS den
                FROM (SELECT s.time_signature_numerator BETWEEN 1 AND 64
                             AND s.time_signature_denominator IN (1, 2, 4, 8, 16, 32, 64) AS ok) v) ts
         ORDER BY s.file_id
        ON CONFLICT (file_id) DO UPDATE SET
            bpm = EXCLUDED.bpm, bpm_source = EXCLUDED.bpm_source, has_tempo_changes = EXCLUDED.has_tempo_changes,
            tempo_map = EXCLUDED.tempo_map, key_signature = EXCLUDED.key_signature, key_source = EXCLUDED.key_source,
            key_from_signature = EXCLUDED.key_from_signature, key_from_filename = EXCLUDED.key_from_filename,
            key_estimate = EXCLUDED.key_estimate, key_estimate_second = EXCLUDED.key_estimate_second,
            key_correlation = EXCLUDED.key_correlation, key_confidence = EXCLUDED.key_confidence,
            key_profile = EXCLUDED.key_profile, time_signature_numerator = EXCLUDED.time_signature_numerator,
            time_signature_denominator = EXCLUDED.time_signature_denominator,
            time_signatures = EXCLUDED.time_signatures, total_notes = EXCLUDED.total_notes,
            drum_note_count = EXCLUDED.drum_note_count, unique_pitches = EXCLUDED.unique_pitches,
            pitch_range_min = EXCLUDED.pitch_range_min, pitch_range_max = EXCLUDED.pitch_range_max,
            velocity_min = EXCLUDED.velocity_min, avg_velocity = EXCLUDED.avg_velocity,
            velocity_max = EXCLUDED.velocity_max, note_density = EXCLUDED.note_density,
            polyphony_max = EXCLUDED.polyphony_max, polyphony_avg = EXCLUDED.polyphony_avg,
            is_percussive = EXCLUDED.is_percussive, is_monophonic = EXCLUDED.is_monophonic,
            has_chords = EXCLUDED.has_chords, has_melody = EXCLUDED.has_melody,
            pitch_class_histogram = EXCLUDED.pitch_class_histogram, track_names = EXCLUDED.track_names,
            instrument_names = EXCLUDED.instrument_names, copyright = EXCLUDED.copyright,
            markers = EXCLUDED.markers, has_lyrics = EXCLUDED.has_lyrics, parser = EXCLUDED.parser;

        -- A re-analysis replaces the instrument list; the first analysis has nothing to delete.
        DELETE FROM midi.file_instruments fi WHERE fi.file_id = ANY (v_ok);
        -- symusic does not report the channel of pitched parts: drum kits are channel 10 (9), pitched
        -- instruments channel 1 (0); the analyzer merges parts by (drum, program), so the key stays unique.
        INSERT INTO midi.file_instruments (file_id, channel, program, is_drum, note_count, instrument_name)
        SELECT s.file_id, CASE WHEN i.is_drum THEN 9 ELSE 0 END, i.program, i.is_drum, sum(i.note_count),
               CASE WHEN i.is_drum THEN 'Drum Kit' ELSE min(gm.name) END
          FROM (SELECT DISTINCT ON (x.file_id) x.file_id, x.instruments FROM midi._analysis_staged(batch) x
                 WHERE x.error_class IS NULL ORDER BY x.file_id) s
               CROSS JOIN LATERAL jsonb_to_recordset(s.instruments)
                   AS i(program smallint, is_drum boolean, note_count integer, name text)
               LEFT JOIN midi.gm_instruments gm ON gm.program = i.program
         WHERE i.program BETWEEN 0 AND 127
         GROUP BY s.file_id, i.is_drum, i.program
         ORDER BY s.file_id, 2, i.program;

        PERFORM midi._apply_categories(v_ok);

        IF EXISTS (SELECT 1 FROM midi.analysis_errors LIMIT 1) THEN
            DELETE FROM midi.analysis_errors ae WHERE ae.file_id = ANY (v_ok);
        END IF;
    END IF;

    IF cardinality(v_err) > 0 THEN
        INSERT INTO midi.analysis_errors AS ae (file_id, error_class, message, parser)
        SELECT DISTINCT ON (s.file_id) s.file_id, s.error_class, coalesce(left(s.message, 2000), s.error_class), s.parser
          FROM midi._analysis_staged(batch) s
         WHERE s.file_id = ANY (v_err)
         ORDER BY s.file_id
        ON CONFLICT (file_id) DO UPDATE
            SET error_class = EXCLUDED.error_class, message = EXCLUDED.message, parser = EXCLUDED.parser,
                created_at = now()
            WHERE (ae.error_class, ae.message, ae.parser) IS DISTINCT FROM (EXCLUDED.error_class, EXCLUDED.message, EXCLUDED.parser);
        -- a file that analyzed before and fails now keeps no stale facts: it is in exactly one table
        DELETE FROM midi.musical_metadata m WHERE m.file_id = ANY (v_err);
        DELETE FROM midi.file_instruments fi WHERE fi.file_id = ANY (v_err);
        DELETE FROM midi.file_categories fc WHERE fc.file_id = ANY (v_err);
    END IF;

    PERFORM midi._apply_tags(v_ok || v_err);

    -- One UPDATE per file: the analysis columns and the denormalized search columns together, computed
    -- set-based exactly as midi.sync_files computes them (a test checks that sync_files then finds
    -- nothing to change): every files row version costs an entry in each of its many indexes.
    UPDATE midi.files f
       SET analyzed_at = v_now, analyzer_version = version,
           duration_seconds = CASE WHEN d.error_class IS NULL
                                   THEN least(round(d.duration_seconds::numeric, 3), 999999999.999)
                                   ELSE f.duration_seconds END,
           duration_ticks = CASE WHEN d.error_class IS NULL THEN d.duration_ticks ELSE f.duration_ticks END,
           cached_bpm = d.bpm, cached_key = d.key, cached_category = d.category, tag_ids = d.tag_ids,
           search_vector = d.search_vector
      FROM (SELECT s.file_id, s.error_class, s.duration_seconds, s.duration_ticks,
                   coalesce(mm.bpm, x.filename_bpm) AS bpm,
                   coalesce(nullif(mm.key_signature, 'UNKNOWN'), x.filename_key) AS key,
                   fc.primary_category AS category,
                   coalesce(tg.tag_ids, '{}') AS tag_ids,
                   ts_filter(coalesce(x.search_vector, ''), '{a,b,c}')
                   || setweight(to_tsvector('midi.names', midi.name_words(concat_ws(' ', tg.names,
                          (SELECT concat_ws(' ', nullif(fc.primary_category, 'unknown'), nullif(fc.secondary_category, 'unknown'))
                            WHERE fc.file_id IS NOT NULL),
                          ins.names))), 'D') AS search_vector
              FROM (SELECT DISTINCT ON (y.file_id) y.file_id, y.error_class, y.duration_seconds, y.duration_ticks
                      FROM midi._analysis_staged(batch) y ORDER BY y.file_id, y.error_class NULLS FIRST) s
              JOIN midi.files x ON x.id = s.file_id
              LEFT JOIN midi.musical_metadata mm ON mm.file_id = s.file_id
              LEFT JOIN midi.file_categories fc ON fc.file_id = s.file_id
              LEFT JOIN (SELECT ft.file_id, array_agg(ft.tag_id ORDER BY ft.tag_id) AS tag_ids,
                                string_agg(t.name, ' ' ORDER BY t.name) AS names
                           FROM midi.file_tags ft JOIN midi.tags t ON t.id = ft.tag_id
                          WHERE ft.file_id = ANY (v_ok || v_err)
                          GROUP BY ft.file_id) tg ON tg.file_id = s.file_id
              LEFT JOIN (SELECT fi.file_id, string_agg(DISTINCT fi.instrument_name, ' ') AS names
                           FROM midi.file_instruments fi
                          WHERE fi.file_id = ANY (v_ok)
                          GROUP BY fi.file_id) ins ON ins.file_id = s.file_id) d
     WHERE f.id = d.file_id;
    PERFORM set_config('midi.defer_sync', coalesce(v_prev, ''), true);

    DELETE FROM midi.analysis_staging s WHERE s.batch = analysis_apply.batch;
    RETURN QUERY SELECT cardinality(v_ok), cardinality(v_err);
END;
$$;
COMMENT ON FUNCTION midi.analysis_apply(bigint, integer) IS
    'Applies one staged analysis batch (facts, instruments, categories, tags, errors, files.analyzed_at); returns (analyzed, errors)';

/* analysis_finish: end of an analysis run: refreshes the library statistics and facet views when the
   search layer provides them. Returns what refresh_views returned (NULL without it). */
CREATE OR REPLACE FUNCTION midi.analysis_finish() RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regprocedure('midi.refresh_views()') IS NOT NULL THEN
        RETURN midi.refresh_views();
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi.analysis_finish() IS 'Ends an analysis run: refreshes the facet views (midi.refresh_views) when present';

/* redetect_keys: makes `profile` (a short name such as 'temperley', or a title such as
   'Temperley-Kostka-Payne') the default key profile and re-derives every file's key estimate, chosen key,
   key source and key tag from the stored pitch-class histograms, without reading a file. Returns the
   number of files whose chosen key changed. */
CREATE OR REPLACE FUNCTION midi.redetect_keys(profile text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    p text;
    changed bigint[];
    prev text := current_setting('midi.defer_sync', true);
BEGIN
    SELECT kp.name INTO p FROM midi.key_profiles kp
     WHERE kp.name = lower(btrim(profile)) OR lower(kp.title) = lower(btrim(profile));
    IF p IS NULL THEN
        RAISE EXCEPTION 'unknown key profile %', profile USING ERRCODE = 'invalid_parameter_value',
            HINT = 'one of: ' || (SELECT string_agg(kp.name, ', ' ORDER BY kp.name) FROM midi.key_profiles kp);
    END IF;
    UPDATE midi.key_profiles SET is_default = false WHERE is_default AND name <> p;
    UPDATE midi.key_profiles SET is_default = true WHERE name = p AND NOT is_default;

    PERFORM set_config('midi.defer_sync', 'on', true);
    CREATE TEMP TABLE IF NOT EXISTS _redetected (file_id bigint PRIMARY KEY, changed boolean) ON COMMIT DROP;
    TRUNCATE _redetected;
    WITH est AS (
        SELECT m.file_id, m.key_signature AS old_key, e.key, e.second_key, e.correlation, e.confidence,
               ck.key AS chosen, ck.source
          FROM midi.musical_metadata m
               LEFT JOIN LATERAL midi.estimate_key(m.pitch_class_histogram, p) e ON true
               CROSS JOIN LATERAL midi.choose_key(m.key_from_signature, m.key_from_filename, e.key) ck
    ), upd AS (
        UPDATE midi.musical_metadata m
           SET key_estimate = est.key, key_estimate_second = est.second_key,
               key_correlation = round(est.correlation::numeric, 6)::real, key_confidence = est.confidence,
               key_profile = CASE WHEN est.key IS NULL THEN NULL ELSE p END,
               key_signature = est.chosen, key_source = est.source
          FROM est
         WHERE est.file_id = m.file_id
           AND (m.key_estimate, m.key_estimate_second, m.key_confidence, m.key_profile, m.key_signature, m.key_source)
               IS DISTINCT FROM (est.key, est.second_key, est.confidence, CASE WHEN est.key IS NULL THEN NULL ELSE p END,
                                 est.chosen, est.source)
        RETURNING m.file_id
    )
    INSERT INTO _redetected (file_id, changed)
    SELECT upd.file_id, est.chosen IS DISTINCT FROM est.old_key FROM upd JOIN est ON est.file_id = upd.file_id;

    changed := ARRAY(SELECT r.file_id FROM _redetected r WHERE r.changed ORDER BY r.file_id);
    IF cardinality(changed) > 0 THEN
        PERFORM midi._apply_tags(changed);
    END IF;
    PERFORM set_config('midi.defer_sync', coalesce(prev, ''), true);
    IF cardinality(changed) > 0 THEN
        PERFORM midi.sync_files(changed);
    END IF;
    RETURN cardinality(changed);
END;
$$;
COMMENT ON FUNCTION midi.redetect_keys(text) IS
    'Makes a key profile the default and re-derives every key from the stored histograms; returns files whose key changed';
