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

/* analysis_transient: whether an analysis error class says nothing about the file's bytes: the file
   could not be read (unreadable, vanished, not_regular_file: something else is at its path now; changed:
   its paths hold other bytes now), or the worker could not finish it (timeout, worker_crash,
   out_of_memory). Such a failure keeps the facts the file had and is retried (midi.analysis_retries);
   every other class is what the bytes say and replaces earlier facts. */
CREATE OR REPLACE FUNCTION midi.analysis_transient(error_class text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(error_class IN ('unreadable', 'vanished', 'not_regular_file', 'changed', 'timeout',
                                    'worker_crash', 'out_of_memory'), false)
$$;
COMMENT ON FUNCTION midi.analysis_transient(text) IS
    'True for analysis error classes that say nothing about the bytes (kept facts, retried): unreadable, vanished, not_regular_file, changed, timeout, worker_crash, out_of_memory';

/* analysis_max_attempts: how many transient failures in a row a file may have before analysis gives it
   up: the setting midi.analysis_max_attempts (per session, role or database: ALTER DATABASE ... SET
   midi.analysis_max_attempts = 5), 3 when unset or not a positive integer. */
CREATE OR REPLACE FUNCTION midi.analysis_max_attempts() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v ~ '^\s*0*[1-9][0-9]{0,8}\s*$' THEN v::integer ELSE 3 END
      FROM (SELECT current_setting('midi.analysis_max_attempts', true) AS v) s
$$;
COMMENT ON FUNCTION midi.analysis_max_attempts() IS
    'Transient analysis failures in a row before a file is given up: setting midi.analysis_max_attempts, default 3';

/* analysis_pending: how many files an analysis run would take (for progress display): those
   analysis_claim would claim, counted the same way. */
CREATE OR REPLACE FUNCTION midi.analysis_pending(version integer, reanalyze_before timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM midi.files f LEFT JOIN midi.analysis_retries r ON r.file_id = f.id
     WHERE CASE WHEN r.file_id IS NULL
                THEN midi.analysis_needed(f.analyzed_at, f.analyzer_version, version, reanalyze_before)
                ELSE r.attempts < midi.analysis_max_attempts() OR coalesce(r.last_failed_at < reanalyze_before, false)
           END
$$;
COMMENT ON FUNCTION midi.analysis_pending(integer, timestamptz) IS 'Number of files needing analysis';

/* analysis_claim: locks the next files (by id, after after_id) that need analysis, at most max_files,
   skipping files another session holds (FOR NO KEY UPDATE SKIP LOCKED), and returns where to read each
   one: its present paths, the canonical path first, whether the import found its structure suspect, and
   its content hash (the workers check that the bytes they read are still this file's). A file needs analysis when analysis_needed says so, unless its last attempts failed transiently
   (midi.analysis_retries): then it is taken while it has had fewer than midi.analysis_max_attempts()
   attempts (or, with reanalyze_before, when its last attempt was before that moment), and given up after.
   The locks last until the caller's transaction ends, so the caller claims, analyzes and applies in one
   transaction: concurrent runners share the work without overlap, and a runner that dies releases its
   files with its transaction. The caller passes the last id it got as after_id (keyset, not OFFSET: each
   claim starts where the last ended). */
CREATE OR REPLACE FUNCTION midi.analysis_claim(
    after_id bigint, max_files integer, version integer, reanalyze_before timestamptz DEFAULT NULL
) RETURNS TABLE (file_id bigint, paths text[], paths_bytes bytea[], suspect boolean, content_hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
    v_max integer := midi.analysis_max_attempts();
BEGIN
    RETURN QUERY
    WITH claimed AS (
        SELECT f.id, f.filepath, f.midi_warnings, f.content_hash
          FROM midi.files f
               LEFT JOIN midi.analysis_retries r ON r.file_id = f.id
         WHERE f.id > after_id
           AND CASE WHEN r.file_id IS NULL
                    THEN midi.analysis_needed(f.analyzed_at, f.analyzer_version, version, reanalyze_before)
                    ELSE r.attempts < v_max OR coalesce(r.last_failed_at < reanalyze_before, false)
               END
         ORDER BY f.id
         LIMIT max_files
           FOR NO KEY UPDATE OF f SKIP LOCKED
    )
    SELECT c.id, coalesce(p.paths, ARRAY[c.filepath::text]), coalesce(p.bytes, ARRAY[NULL::bytea]),
           cardinality(c.midi_warnings) > 0, c.content_hash
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
    'Locks (SKIP LOCKED) up to max_files files after after_id that need analysis; returns their paths (canonical first), suspect flag and content hash';

/* _analysis_staged: the rows of one staged analysis batch. A function with a realistic ROWS estimate
   because the staging table is nearly always empty when autovacuum looks at it (see midi._staged). */
CREATE OR REPLACE FUNCTION midi._analysis_staged(batch bigint) RETURNS SETOF midi.analysis_staging
LANGUAGE plpgsql STABLE ROWS 1000 AS $$
BEGIN
    RETURN QUERY SELECT * FROM midi.analysis_staging s WHERE s.batch = _analysis_staged.batch;
END;
$$;
COMMENT ON FUNCTION midi._analysis_staged(bigint) IS 'Rows of one staged analysis batch (with a realistic row estimate)';

/* _analysis_refusal: why the catalog would refuse one staged row of facts (its checks and types, after
   the clamping _analysis_write does itself), or a value that is not a number at all (NaN, infinity, which
   clamping would turn into a plausible-looking extreme); NULL when the row can be stored. analysis_apply
   turns such rows into 'rejected' errors before writing anything, so a known refusal costs no failed
   statement; whatever this misses is still isolated by _analysis_write_isolated. One expression, so the
   planner inlines it into the caller's scan; `keys` is the list of midi.musical_key labels, passed in
   because enum_range computed per row would cost more than all the other checks together. */
CREATE OR REPLACE FUNCTION midi._analysis_refusal(s midi.analysis_staging, keys text[]) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(concat_ws('; ',
        CASE WHEN s.duration_ticks < 0 THEN 'duration_ticks ' || s.duration_ticks || ' is negative' END,
        CASE WHEN s.duration_seconds < 0 OR s.duration_seconds IN ('NaN', 'Infinity')
             THEN 'duration_seconds ' || s.duration_seconds || ' is not a length of time' END,
        CASE WHEN s.bpm IN ('NaN', 'Infinity', '-Infinity') THEN 'bpm ' || s.bpm || ' is not a tempo' END,
        CASE WHEN s.total_notes < 0 OR s.drum_note_count < 0 OR s.drum_note_count > s.total_notes
             THEN 'note counts ' || s.total_notes || ' (drums ' || s.drum_note_count || ') are impossible' END,
        CASE WHEN NOT s.unique_pitches BETWEEN 0 AND 128 THEN 'unique_pitches ' || s.unique_pitches || ' is outside 0..128' END,
        CASE WHEN NOT s.pitch_min BETWEEN 0 AND 127 OR NOT s.pitch_max BETWEEN 0 AND 127 OR s.pitch_min > s.pitch_max
             THEN 'pitch range ' || concat_ws('..', s.pitch_min, s.pitch_max) || ' is outside 0..127' END,
        CASE WHEN NOT s.velocity_min BETWEEN 0 AND 127 OR NOT s.velocity_max BETWEEN 0 AND 127
                  OR s.velocity_min > s.velocity_max OR NOT s.velocity_avg BETWEEN 0 AND 127
             THEN 'velocities ' || concat_ws('..', s.velocity_min, s.velocity_max) || ' (average '
                  || coalesce(s.velocity_avg::text, '-') || ') are outside 0..127' END,
        CASE WHEN s.polyphony_max < 0 OR s.polyphony_avg < 0 OR s.polyphony_avg IN ('NaN', 'Infinity')
             THEN 'polyphony ' || coalesce(s.polyphony_max::text, '-') || ' (average ' || coalesce(s.polyphony_avg::text, '-')
                  || ') is impossible' END,
        CASE WHEN s.note_density < 0 OR s.note_density IN ('NaN', 'Infinity')
             THEN 'note_density ' || s.note_density || ' is impossible' END,
        -- NaN compares above every number, so it fails "1 >= ALL"
        CASE WHEN cardinality(s.pitch_class_histogram) <> 12 OR array_ndims(s.pitch_class_histogram) <> 1
                  OR array_position(s.pitch_class_histogram, NULL) IS NOT NULL
                  OR NOT (0 <= ALL (s.pitch_class_histogram) AND 1 >= ALL (s.pitch_class_histogram))
             THEN 'pitch_class_histogram is not 12 shares between 0 and 1' END,
        CASE WHEN NOT s.key_from_signature = ANY (keys)
             THEN 'key ' || quote_literal(s.key_from_signature) || ' is not a key' END,
        CASE WHEN s.parser NOT IN ('symusic', 'mido') THEN 'parser ' || quote_literal(s.parser) || ' is unknown' END,
        CASE WHEN jsonb_typeof(s.instruments) <> 'array'
                  OR jsonb_path_exists(s.instruments,
                         '$[*] ? (@.type() != "object" || @.program < 0 || @.program > 127 || @.channel < 0 || @.channel > 15 || @.note_count < 0 || @.note_count > 2147483647)')
             THEN 'instruments hold a channel, program or note count outside MIDI''s ranges' END
    ), '')
$$;
COMMENT ON FUNCTION midi._analysis_refusal(midi.analysis_staging, text[]) IS
    'Why the catalog would refuse a staged row of facts (NULL when it can store them)';

/* analysis_apply: moves one COPY-staged batch into the catalog in the caller's transaction (the one that
   claimed the files), and returns (analyzed, errors). One file never fails the batch: rows the catalog
   would refuse for a known reason (_analysis_refusal) become that file's 'rejected' error first, and
   whatever else the catalog refuses (a check, a type range, an index entry too large, an encoding) is
   isolated by _analysis_write_isolated and becomes a 'rejected' error with the server's message. What a
   file's row becomes is _analysis_write's to decide: facts, an error that replaces them, or a transient
   failure that keeps them and is retried. */
CREATE OR REPLACE FUNCTION midi.analysis_apply(batch bigint, version integer)
RETURNS TABLE (analyzed integer, errors integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_keys text[] := enum_range(NULL::midi.musical_key)::text[];
    v_ok integer;
    v_err integer;
BEGIN
    UPDATE midi.analysis_staging s
       SET error_class = 'rejected',
           message = left('the catalog cannot store these facts: ' || midi._analysis_refusal(s, v_keys), 2000)
     WHERE s.batch = analysis_apply.batch AND s.error_class IS NULL AND midi._analysis_refusal(s, v_keys) IS NOT NULL;

    PERFORM midi._analysis_write_isolated(batch, version, NULL, clock_timestamp());

    SELECT count(*) FILTER (WHERE x.ok), count(*) FILTER (WHERE NOT x.ok) INTO v_ok, v_err
      FROM (SELECT bool_or(s.error_class IS NULL) AS ok FROM midi._analysis_staged(batch) s GROUP BY s.file_id) x;
    DELETE FROM midi.analysis_staging s WHERE s.batch = analysis_apply.batch;
    RETURN QUERY SELECT v_ok, v_err;
END;
$$;
COMMENT ON FUNCTION midi.analysis_apply(bigint, integer) IS
    'Applies one staged analysis batch (facts, instruments, categories, tags, errors, retries, files.analyzed_at); a file the catalog refuses becomes a rejected error; returns (analyzed, errors)';

/* _analysis_write_isolated: _analysis_write of the files `ids` of a staged batch (NULL: all of them), so
   that no file can fail the others: the write runs in a savepoint (a plpgsql exception block); when the
   catalog refuses it with a data exception (class 22: a type range, an encoding), an integrity violation
   (class 23: a check) or a program limit (class 54: an index entry or a tsvector too large), the ids are
   halved and each half written the same way, down to the one file that is refused, whose staged rows are
   replaced by a 'rejected' error carrying the server's SQLSTATE and message. Any other error (a lock
   timeout, a deadlock, a bug) fails the batch as before. A batch that the catalog takes whole costs one
   savepoint. */
CREATE OR REPLACE FUNCTION midi._analysis_write_isolated(batch bigint, version integer, ids bigint[], stamp timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    v_state text;
    v_message text;
BEGIN
    BEGIN
        PERFORM midi._analysis_write(batch, version, ids, stamp);
        RETURN;
    EXCEPTION WHEN data_exception OR integrity_constraint_violation OR program_limit_exceeded THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
    END;
    IF ids IS NULL THEN
        ids := ARRAY(SELECT DISTINCT s.file_id FROM midi._analysis_staged(batch) s ORDER BY 1);
    END IF;
    n := cardinality(ids);
    IF n > 1 THEN
        PERFORM midi._analysis_write_isolated(batch, version, ids[1:n / 2], stamp);
        PERFORM midi._analysis_write_isolated(batch, version, ids[n / 2 + 1:n], stamp);
        RETURN;
    END IF;
    IF n = 1 THEN
        DELETE FROM midi.analysis_staging s WHERE s.batch = _analysis_write_isolated.batch AND s.file_id = ids[1];
        INSERT INTO midi.analysis_staging (batch, file_id, error_class, message)
        VALUES (batch, ids[1], 'rejected',
                left(format('the catalog refused the facts (SQLSTATE %s): %s', v_state, v_message), 2000));
        PERFORM midi._analysis_write(batch, version, ids, stamp);
    END IF;
END;
$$;
COMMENT ON FUNCTION midi._analysis_write_isolated(bigint, integer, bigint[], timestamptz) IS
    'Writes the staged rows of the given files (NULL: all), isolating (by halving, in savepoints) any file the catalog refuses as a rejected error';

/* _analysis_write: writes what the staged rows of the files `ids` of one batch (NULL: all of
   them) say; `stamp` is the analysis time. Per file (a file staged twice: a success wins):
   - facts: musical_metadata upserted (BPM from a tempo event, else the file name, else NULL with
     bpm_source 'default'; clamped to the column; the key estimated from the histogram with the default
     profile and chosen with provenance), file_instruments replaced, categories and tags derived;
     its analysis_errors and analysis_retries rows deleted;
   - an error the bytes cause (see analysis_transient): its analysis_errors row, no stale facts left
     behind, its analysis_retries row deleted;
   - a transient error: the attempt counted in analysis_retries; facts, tags and the files row stay as
     they were; a file without any earlier conclusion gets an analysis_errors row (so every file that went
     through analysis is in exactly one of musical_metadata and analysis_errors), but never one that would
     replace an error its bytes caused.
   Files with facts or a conclusive error get analyzed_at and analyzer_version (a failure is an answer
   too: it is not retried until the analyzer changes or --reanalyze), analyzed files their duration, and
   the search columns of files (cached_*, tag_ids, search_vector) are brought up to date in the same row
   update. */
CREATE OR REPLACE FUNCTION midi._analysis_write(batch bigint, version integer, ids bigint[], stamp timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_profile text := midi.default_key_profile();
    v_prev text := current_setting('midi.defer_sync', true);
    v_ok bigint[];
    v_err bigint[];
    v_transient bigint[];
    v_derived record;
BEGIN
    SELECT coalesce(array_agg(DISTINCT s.file_id) FILTER (WHERE s.error_class IS NULL), '{}'),
           coalesce(array_agg(DISTINCT s.file_id) FILTER (WHERE s.error_class IS NOT NULL
                                                            AND NOT midi.analysis_transient(s.error_class)), '{}'),
           coalesce(array_agg(DISTINCT s.file_id) FILTER (WHERE midi.analysis_transient(s.error_class)), '{}')
      INTO v_ok, v_err, v_transient
      FROM midi._analysis_staged(batch) s
     WHERE ids IS NULL OR s.file_id = ANY (ids);
    v_err := ARRAY(SELECT unnest(v_err) EXCEPT SELECT unnest(v_ok));  -- a file twice: the success wins
    v_transient := ARRAY(SELECT unnest(v_transient) EXCEPT SELECT unnest(v_ok || v_err));
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
               CASE WHEN s.bpm_source = 'meta' THEN least(greatest(round(s.bpm::numeric, 2), 1), 1000) ELSE f.filename_bpm END,
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
                 WHERE x.error_class IS NULL AND (ids IS NULL OR x.file_id = ANY (ids)) ORDER BY x.file_id) s
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

        -- A re-analysis replaces the instrument list; the first analysis has nothing to delete. One row per
        -- (channel, program, drum flag): a channel or program the parser could not tell stays NULL.
        DELETE FROM midi.file_instruments fi WHERE fi.file_id = ANY (v_ok);
        INSERT INTO midi.file_instruments (file_id, channel, program, is_drum, note_count, instrument_name)
        SELECT s.file_id, i.channel, i.program, coalesce(i.is_drum, false), sum(i.note_count),
               CASE WHEN coalesce(i.is_drum, false) THEN 'Drum Kit' ELSE min(gm.name) END
          FROM (SELECT DISTINCT ON (x.file_id) x.file_id, x.instruments FROM midi._analysis_staged(batch) x
                 WHERE x.error_class IS NULL AND (ids IS NULL OR x.file_id = ANY (ids)) ORDER BY x.file_id) s
               CROSS JOIN LATERAL jsonb_to_recordset(s.instruments)
                   AS i(channel smallint, program smallint, is_drum boolean, note_count integer, name text)
               LEFT JOIN midi.gm_instruments gm ON gm.program = i.program
         GROUP BY s.file_id, i.channel, i.program, coalesce(i.is_drum, false)
         ORDER BY s.file_id, 2, 3, 4;

        PERFORM midi._apply_categories(v_ok);

        IF EXISTS (SELECT 1 FROM midi.analysis_errors LIMIT 1) THEN
            DELETE FROM midi.analysis_errors ae WHERE ae.file_id = ANY (v_ok);
        END IF;
    END IF;

    IF cardinality(v_err) > 0 THEN
        INSERT INTO midi.analysis_errors AS ae (file_id, error_class, message, parser)
        SELECT DISTINCT ON (s.file_id) s.file_id, s.error_class, coalesce(left(s.message, 2000), s.error_class), s.parser
          FROM midi._analysis_staged(batch) s
         WHERE s.file_id = ANY (v_err) AND s.error_class IS NOT NULL AND NOT midi.analysis_transient(s.error_class)
         ORDER BY s.file_id
        ON CONFLICT (file_id) DO UPDATE
            SET error_class = EXCLUDED.error_class, message = EXCLUDED.message, parser = EXCLUDED.parser,
                created_at = now()
            WHERE (ae.error_class, ae.message, ae.parser) IS DISTINCT FROM (EXCLUDED.error_class, EXCLUDED.message, EXCLUDED.parser);
        -- a file that analyzed before and whose bytes fail now keeps no stale facts: it is in exactly one table
        DELETE FROM midi.musical_metadata m WHERE m.file_id = ANY (v_err);
        DELETE FROM midi.file_instruments fi WHERE fi.file_id = ANY (v_err);
        DELETE FROM midi.file_categories fc WHERE fc.file_id = ANY (v_err);
    END IF;

    IF EXISTS (SELECT 1 FROM midi.analysis_retries LIMIT 1) AND cardinality(v_ok || v_err) > 0 THEN
        DELETE FROM midi.analysis_retries r WHERE r.file_id = ANY (v_ok || v_err);  -- a conclusive answer
    END IF;

    IF cardinality(v_transient) > 0 THEN
        INSERT INTO midi.analysis_retries AS r (file_id, error_class, message, first_failed_at, last_failed_at)
        SELECT DISTINCT ON (s.file_id) s.file_id, s.error_class, coalesce(left(s.message, 2000), s.error_class), stamp, stamp
          FROM midi._analysis_staged(batch) s
         WHERE s.file_id = ANY (v_transient) AND midi.analysis_transient(s.error_class)
         ORDER BY s.file_id
        ON CONFLICT (file_id) DO UPDATE
            SET error_class = EXCLUDED.error_class, message = EXCLUDED.message, attempts = r.attempts + 1,
                last_failed_at = greatest(r.last_failed_at, EXCLUDED.last_failed_at);
        -- accounted for without a conclusion: only files with neither facts nor an error their bytes caused
        INSERT INTO midi.analysis_errors AS ae (file_id, error_class, message, parser)
        SELECT DISTINCT ON (s.file_id) s.file_id, s.error_class, coalesce(left(s.message, 2000), s.error_class), s.parser
          FROM midi._analysis_staged(batch) s
         WHERE s.file_id = ANY (v_transient) AND midi.analysis_transient(s.error_class)
           AND NOT EXISTS (SELECT 1 FROM midi.musical_metadata m WHERE m.file_id = s.file_id)
         ORDER BY s.file_id
        ON CONFLICT (file_id) DO UPDATE
            SET error_class = EXCLUDED.error_class, message = EXCLUDED.message, parser = EXCLUDED.parser,
                created_at = now()
            WHERE midi.analysis_transient(ae.error_class)
              AND (ae.error_class, ae.message, ae.parser) IS DISTINCT FROM (EXCLUDED.error_class, EXCLUDED.message, EXCLUDED.parser);
    END IF;

    IF cardinality(v_ok || v_err) = 0 THEN
        PERFORM set_config('midi.defer_sync', coalesce(v_prev, ''), true);
        RETURN;
    END IF;
    -- the tags the facts give are computed into tag_ids, not stored as rows (user tags stay rows)
    v_derived := midi._derived_tags(v_ok || v_err, v_ok || v_err);

    -- One UPDATE per file: the analysis columns and the denormalized search columns together, computed
    -- set-based exactly as midi.sync_files computes them (a test checks that sync_files then finds
    -- nothing to change): every files row version costs an entry in each of its many indexes.
    UPDATE midi.files f
       SET analyzed_at = stamp, analyzer_version = version,
           duration_seconds = CASE WHEN d.error_class IS NULL
                                   THEN least(round(d.duration_seconds::numeric, 3), 999999999.999)
                                   ELSE f.duration_seconds END,
           duration_ticks = CASE WHEN d.error_class IS NULL THEN d.duration_ticks ELSE f.duration_ticks END,
           cached_bpm = d.bpm, cached_key = d.key, cached_category = d.category, tag_ids = d.tag_ids,
           search_vector = d.search_vector
      FROM (SELECT s.file_id, s.error_class, s.duration_seconds, s.duration_ticks,
                   c.bpm, c.key, c.category, c.tag_ids, c.search_vector
              FROM (SELECT DISTINCT ON (y.file_id) y.file_id, y.error_class, y.duration_seconds, y.duration_ticks
                      FROM midi._analysis_staged(batch) y
                     WHERE (ids IS NULL OR y.file_id = ANY (ids)) AND NOT midi.analysis_transient(y.error_class)
                     ORDER BY y.file_id, y.error_class NULLS FIRST) s
              JOIN midi._search_columns(v_ok || v_err, v_derived.files, v_derived.tag_ids) c ON c.file_id = s.file_id) d
     WHERE f.id = d.file_id;
    PERFORM set_config('midi.defer_sync', coalesce(v_prev, ''), true);
END;
$$;
COMMENT ON FUNCTION midi._analysis_write(bigint, integer, bigint[], timestamptz) IS
    'Writes what the staged rows of the given files say: facts, a conclusive error, or a counted transient failure';

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
    PERFORM set_config('midi.defer_sync', coalesce(prev, ''), true);
    IF cardinality(changed) > 0 THEN
        PERFORM midi.sync_files(changed);  -- the cached key, and the key tag its facts now give
    END IF;
    RETURN cardinality(changed);
END;
$$;
COMMENT ON FUNCTION midi.redetect_keys(text) IS
    'Makes a key profile the default and re-derives every key from the stored histograms; returns files whose key changed';
