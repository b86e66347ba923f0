-- Analysis: claiming work, applying COPY-staged batches of facts, ending a run, and re-detecting
-- keys from the stored histograms.

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
                   c.bpm, c.key, c.category, c.tag_ids, c.search_vector
              FROM (SELECT DISTINCT ON (y.file_id) y.file_id, y.error_class, y.duration_seconds, y.duration_ticks
                      FROM midi._analysis_staged(batch) y ORDER BY y.file_id, y.error_class NULLS FIRST) s
              JOIN midi._search_columns(v_ok || v_err) c ON c.file_id = s.file_id) d
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
