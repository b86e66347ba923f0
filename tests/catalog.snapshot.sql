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
CREATE TYPE midi.search_filters AS (
	q text,
	bpm_min numeric,
	bpm_max numeric,
	bpm_halfdouble boolean,
	keys midi.musical_key[],
	compatible_key midi.musical_key,
	manufacturer text[],
	collection text[],
	categories midi.file_category[],
	tags_all text[],
	tags_any text[],
	time_signature text,
	duration_min numeric,
	duration_max numeric,
	notes_min integer,
	notes_max integer,
	percussive boolean,
	favorites_only boolean,
	min_rating integer,
	fuzzy boolean
);
COMMENT ON TYPE midi.search_filters IS 'The filter arguments shared by midi.search, midi.search_count and midi.facets';
CREATE TYPE midi._search_args AS (
	f midi.search_filters,
	tsq tsquery,
	tsq_a tsquery,
	text_indexed boolean,
	text_rows double precision,
	name_indexed boolean,
	key_set midi.musical_key[],
	tag_all_ids bigint[],
	tag_any_ids bigint[],
	ts_num smallint,
	ts_den smallint,
	bpm_ranges numrange[],
	cur_seg integer,
	cur_ts timestamp with time zone,
	cur_num numeric,
	cur_text text,
	cur_real real,
	cur_id bigint,
	name_rows double precision
);
COMMENT ON TYPE midi._search_args IS 'Internal: resolved search filters and keyset cursor (one parameter of the built SQL)';
CREATE TYPE midi.search_hit AS (
	id bigint,
	filename text,
	filepath text,
	manufacturer text,
	collection text,
	bpm numeric,
	key midi.musical_key,
	category midi.file_category,
	duration numeric,
	is_favorite boolean,
	rank real,
	cursor text
);
COMMENT ON TYPE midi.search_hit IS 'A search result row; pass the last row''s cursor as after => to get the next page';
SET default_tablespace = '';
SET default_table_access_method = heap;
CREATE UNLOGGED TABLE midi.analysis_staging (
    batch bigint NOT NULL,
    file_id bigint NOT NULL,
    error_class text,
    message text,
    parser text,
    ticks_per_quarter integer,
    duration_ticks bigint,
    duration_seconds double precision,
    bpm double precision,
    bpm_source text,
    has_tempo_changes boolean,
    tempo_map jsonb,
    time_signature_numerator smallint,
    time_signature_denominator smallint,
    time_signatures jsonb,
    key_from_signature text,
    total_notes integer,
    drum_note_count integer,
    unique_pitches smallint,
    pitch_min smallint,
    pitch_max smallint,
    velocity_min smallint,
    velocity_avg double precision,
    velocity_max smallint,
    note_density double precision,
    polyphony_max integer,
    polyphony_avg double precision,
    is_monophonic boolean,
    has_chords boolean,
    has_melody boolean,
    is_percussive boolean,
    instruments jsonb,
    track_names text[],
    instrument_names text[],
    copyright text,
    markers text[],
    has_lyrics boolean,
    pitch_class_histogram double precision[]
);
CREATE FUNCTION midi._analysis_refusal(s midi.analysis_staging, keys text[]) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$
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
$_$;
COMMENT ON FUNCTION midi._analysis_refusal(s midi.analysis_staging, keys text[]) IS 'Why the catalog would refuse a staged row of facts (NULL when it can store them)';
CREATE FUNCTION midi._analysis_staged(batch bigint) RETURNS SETOF midi.analysis_staging
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN QUERY SELECT * FROM midi.analysis_staging s WHERE s.batch = _analysis_staged.batch;
END;
$$;
COMMENT ON FUNCTION midi._analysis_staged(batch bigint) IS 'Rows of one staged analysis batch (with a realistic row estimate)';
CREATE FUNCTION midi._analysis_write(batch bigint, version integer, ids bigint[], stamp timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi._analysis_write(batch bigint, version integer, ids bigint[], stamp timestamp with time zone) IS 'Writes what the staged rows of the given files say: facts, a conclusive error, or a counted transient failure';
CREATE FUNCTION midi._analysis_write_isolated(batch bigint, version integer, ids bigint[], stamp timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi._analysis_write_isolated(batch bigint, version integer, ids bigint[], stamp timestamp with time zone) IS 'Writes the staged rows of the given files (NULL: all), isolating (by halving, in savepoints) any file the catalog refuses as a rejected error';
CREATE FUNCTION midi._apply_categories(ids bigint[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi._apply_categories(ids bigint[]) IS 'Upserts the derived categories of the given files; returns rows written';
CREATE FUNCTION midi._category_tokens(name text, phrases text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
    SELECT string_to_array(btrim(regexp_replace(
               CASE WHEN phrases IS NULL THEN n.s ELSE regexp_replace(n.s, phrases, ' ', 'g') END, ' +', ' ', 'g')), ' ')
      FROM (SELECT ' ' || btrim(regexp_replace(lower(
                       regexp_replace(regexp_replace(replace(regexp_replace(name, '\.(mid|midi|kar|rmi|smf)$', '', 'i'),
                                                             '&', ' and '),
                                                     '([a-z]{2})([A-Z])', '\1 \2', 'g'),
                                      '([0-9])([A-Za-z])', '\1 \2', 'g')),
                   '[^a-z0-9]+', ' ', 'g')) || ' ' AS s) n
$_$;
COMMENT ON FUNCTION midi._category_tokens(name text, phrases text) IS 'Lower-case words of a file name for category rules (camelCase split, genre phrases removed)';
CREATE FUNCTION midi._centred_norm12(h double precision[]) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT sqrt(greatest(0, midi._dot12(h, h)
           - (h[1] + h[2] + h[3] + h[4] + h[5] + h[6] + h[7] + h[8] + h[9] + h[10] + h[11] + h[12]) ^ 2 / 12))
$$;
COMMENT ON FUNCTION midi._centred_norm12(h double precision[]) IS 'Euclidean norm of a 12-element array after subtracting its mean';
CREATE FUNCTION midi._clip_query(q text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN length(q) <= 256 THEN q
                ELSE coalesce(substring(left(q, 257) FROM '^(.*\S)\s'), left(q, 256)) END
$$;
COMMENT ON FUNCTION midi._clip_query(q text) IS 'Internal: a search text cut to at most 256 characters, at a word boundary where there is one';
CREATE FUNCTION midi._cut_label(label text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
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
COMMENT ON FUNCTION midi._cut_label(label text) IS 'A label cut to at most 252 bytes at a character boundary, plus an ellipsis';
CREATE FUNCTION midi._derived_tags(ids bigint[], analyzed bigint[] DEFAULT '{}'::bigint[], OUT files bigint[], OUT tag_ids bigint[]) RETURNS record
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi._derived_tags(ids bigint[], analyzed bigint[], OUT files bigint[], OUT tag_ids bigint[]) IS 'Internal: (file, tag id) pairs of the tags derive_tags gives the analyzed ones of the given files (tag names created when new)';
CREATE FUNCTION midi._dot12(a double precision[], b double precision[]) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT a[1] * b[1] + a[2] * b[2] + a[3] * b[3] + a[4] * b[4] + a[5] * b[5] + a[6] * b[6]
         + a[7] * b[7] + a[8] * b[8] + a[9] * b[9] + a[10] * b[10] + a[11] * b[11] + a[12] * b[12]
$$;
COMMENT ON FUNCTION midi._dot12(a double precision[], b double precision[]) IS 'Dot product of two 12-element arrays (inlined)';
CREATE FUNCTION midi._estimate_matches(a midi._search_args, skip text DEFAULT NULL::text) RETURNS double precision
    LANGUAGE sql
    AS $$  -- VOLATILE: the fallback runs EXPLAIN
    SELECT coalesce(midi._filter_rows(a, skip), midi._estimate_rows(a, skip))
$$;
COMMENT ON FUNCTION midi._estimate_matches(a midi._search_args, skip text) IS 'Internal: estimated files matching a resolved filter set: from statistics when possible, else the planner''s estimate';
CREATE FUNCTION midi._estimate_rows(a midi._search_args, skip text DEFAULT NULL::text) RETURNS double precision
    LANGUAGE plpgsql
    AS $$  -- VOLATILE: STABLE code may not run EXPLAIN
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM midi.files f WHERE ' || midi._search_where(a, skip) INTO plan USING a;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
END;
$$;
COMMENT ON FUNCTION midi._estimate_rows(a midi._search_args, skip text) IS 'Internal: planner estimate of the files matching a resolved filter set (optionally without one dimension)';
CREATE FUNCTION midi._estimate_text_rows(a midi._search_args, in_names boolean DEFAULT false) RETURNS double precision
    LANGUAGE plpgsql
    AS $_$  -- VOLATILE: STABLE code may not run EXPLAIN
DECLARE
    plan json;
BEGIN
    -- dynamic (with constant text) so the planner sees the query's value, as in a one-shot plan
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM midi.files f WHERE '
            || CASE WHEN in_names THEN 'midi.name_tsvector(f.filename) @@ ($1).tsq' ELSE 'f.search_vector @@ ($1).tsq' END
       INTO plan USING a;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
END;
$_$;
COMMENT ON FUNCTION midi._estimate_text_rows(a midi._search_args, in_names boolean) IS 'Internal: planner estimate of the files matching a search''s text query (whole document or file names)';
CREATE FUNCTION midi._export_base(name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN lower(right(name, 4)) IN ('.mid', '.kar', '.rmi') THEN left(name, -4)
                WHEN lower(right(name, 5)) = '.midi' THEN left(name, -5)
                ELSE name END
$$;
COMMENT ON FUNCTION midi._export_base(name text) IS 'Internal: a name without its MIDI extension';
CREATE FUNCTION midi._export_clean(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
    SELECT nullif(regexp_replace(regexp_replace(value, '^\s+|\s+$', '', 'g'),
               '[\u0001-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff/\\:*?"<>|]', '_', 'g'), '')
$_$;
COMMENT ON FUNCTION midi._export_clean(value text) IS 'Internal: a value with the characters unsafe in file names replaced by _ and outer white space removed';
CREATE FUNCTION midi._export_clip(value text, max_bytes integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
BEGIN
    -- each step drops whole characters from the end, never more bytes than the excess, until it fits
    WHILE octet_length(value) > max_bytes LOOP
        value := left(value, length(value) - greatest(1, (octet_length(value) - max_bytes) / 4));
    END LOOP;
    RETURN value;
END;
$$;
COMMENT ON FUNCTION midi._export_clip(value text, max_bytes integer) IS 'Internal: the longest whole-character prefix of a text that fits in max_bytes bytes of UTF-8';
CREATE FUNCTION midi._export_ext(filename text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN lower(right(filename, 4)) IN ('.mid', '.kar', '.rmi') THEN lower(right(filename, 4))
                WHEN lower(right(filename, 5)) = '.midi' THEN '.midi'
                ELSE '.mid' END
$$;
COMMENT ON FUNCTION midi._export_ext(filename text) IS 'Internal: an exported file''s extension: its own (lower case) or .mid';
CREATE FUNCTION midi._export_field_list() RETURNS TABLE(field text, renders text, about text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
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
$_$;
COMMENT ON FUNCTION midi._export_field_list() IS 'Internal: the fields of export name templates with the fixed SQL fragment that renders each';
CREATE FUNCTION midi._export_join(vals text[], literals text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
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
COMMENT ON FUNCTION midi._export_join(vals text[], literals text[]) IS 'Internal: a template''s literal texts and field values joined; a missing value drops its separator';
CREATE FUNCTION midi._export_sql(a midi._search_args, fields text[], with_ids boolean) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $_$
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
$_$;
COMMENT ON FUNCTION midi._export_sql(a midi._search_args, fields text[], with_ids boolean) IS 'Internal: the query of midi.export_rows for a filter set and a template''s fields (fixed fragments only)';
CREATE FUNCTION midi._export_stem(rendered text, filename text, id bigint, ext text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stem text := midi.export_safe_name(midi._export_base(rendered), 255 - octet_length(ext));
BEGIN
    IF stem IS NULL THEN
        stem := midi.export_safe_name(midi._export_base(filename), 255 - octet_length(ext));
    END IF;
    RETURN coalesce(stem, 'file_' || id);
END;
$$;
COMMENT ON FUNCTION midi._export_stem(rendered text, filename text, id bigint, ext text) IS 'Internal: the safe name of an exported file without extension (template, else own name, else file_<id>)';
CREATE FUNCTION midi._facet_query(a midi._search_args, dims text[], skip text, lim integer) RETURNS TABLE(facet text, value text, files bigint, exact boolean)
    LANGUAGE plpgsql
    AS $$  -- VOLATILE: EXPLAIN estimates; reads only
DECLARE
    est double precision := midi._estimate_matches(a, skip);
    exact_sql text := midi._facet_sql(a, dims, skip);
    sample_sql text;
    pct real;
    exact_plan json;
    sample_plan json;
BEGIN
    IF est > 20000 THEN
        pct := least(100, 100 * 5000 / est);
        sample_sql := midi._facet_sql(a, dims, skip, true);
        EXECUTE 'EXPLAIN (FORMAT JSON) ' || exact_sql INTO exact_plan USING a, lim;
        EXECUTE 'EXPLAIN (FORMAT JSON) ' || sample_sql INTO sample_plan USING a, lim, pct;
        IF (sample_plan -> 0 -> 'Plan' ->> 'Total Cost')::float8 < (exact_plan -> 0 -> 'Plan' ->> 'Total Cost')::float8 THEN
            RETURN QUERY EXECUTE sample_sql USING a, lim, pct;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY EXECUTE exact_sql USING a, lim;
END;
$$;
COMMENT ON FUNCTION midi._facet_query(a midi._search_args, dims text[], skip text, lim integer) IS 'Internal: one facet query, exact when cheap, else from a page sample (scaled, exact = false)';
CREATE FUNCTION midi._facet_sql(a midi._search_args, dims text[], skip text, sampled boolean DEFAULT false) RETURNS text
    LANGUAGE sql STABLE
    AS $_$
    -- several dimensions read the matching rows once (MATERIALIZED); one dimension reads them directly,
    -- which lets PostgreSQL use parallel workers for a broad filter
    SELECT 'WITH m AS ' || CASE WHEN cardinality(dims) > 1 THEN 'MATERIALIZED ' ELSE '' END || '(SELECT '
        || array_to_string(ARRAY(
               SELECT c FROM unnest(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'],
                                    ARRAY['f.manufacturer', 'f.collection_name', 'f.cached_key', 'f.cached_category',
                                          'f.cached_bpm', 'f.tag_ids']) AS d(dim, c)
                WHERE d.dim = ANY (dims)), ', ')
        || ' FROM midi.files f'
        || CASE WHEN sampled THEN ' TABLESAMPLE SYSTEM ($3) REPEATABLE (0)' ELSE '' END
        || ' WHERE ' || midi._search_where(a, skip) || E')\n'
        || 'SELECT g.facet, g.value, '
        || CASE WHEN sampled THEN 'round(g.files * 100 / $3)::bigint, false' ELSE 'g.files, true' END
        || E' FROM (SELECT x.*, row_number() OVER (PARTITION BY x.facet ORDER BY x.files DESC, x.value) AS rn FROM (\n'
        || array_to_string(ARRAY(
               SELECT q FROM unnest(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'], ARRAY[
                   'SELECT ''manufacturer''::text AS facet, m.manufacturer AS value, count(*) AS files FROM m WHERE m.manufacturer IS NOT NULL GROUP BY 2',
                   'SELECT ''collection''::text AS facet, m.collection_name AS value, count(*) AS files FROM m WHERE m.collection_name IS NOT NULL GROUP BY 2',
                   'SELECT ''key''::text AS facet, m.cached_key::text AS value, count(*) AS files FROM m WHERE m.cached_key IS NOT NULL GROUP BY m.cached_key',
                   'SELECT ''category''::text AS facet, m.cached_category::text AS value, count(*) AS files FROM m WHERE m.cached_category IS NOT NULL GROUP BY m.cached_category',
                   -- numeric arithmetic per row is slow: count per tempo first, bucket the few tempi after
                   'SELECT ''bpm''::text AS facet, (floor(b.bpm / 10) * 10)::integer::text AS value, sum(b.n)::bigint AS files FROM (SELECT m.cached_bpm AS bpm, count(*) AS n FROM m WHERE m.cached_bpm IS NOT NULL GROUP BY 1) b GROUP BY 2',
                   'SELECT ''tag''::text AS facet, t.name AS value, count(*) AS files FROM m CROSS JOIN LATERAL unnest(m.tag_ids) AS ti(tag_id) JOIN midi.tags t ON t.id = ti.tag_id GROUP BY 2'
               ]) AS d(dim, q)
                WHERE d.dim = ANY (dims)), E'\nUNION ALL\n')
        || E'\n) x) g WHERE g.rn <= $2'
$_$;
COMMENT ON FUNCTION midi._facet_sql(a midi._search_args, dims text[], skip text, sampled boolean) IS 'Internal: SQL counting facet dimensions over the files matching a filter set but one dimension (or a page sample), top $2 values each';
CREATE FUNCTION midi._facets(a midi._search_args, facet_limit integer) RETURNS TABLE(facet text, value text, files bigint, exact boolean)
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $$  -- compiling a broad count costs more than it saves
DECLARE
    lim integer := coalesce(facet_limit, 20);
    active text[] := '{}';
    idle text[];
    d text;
BEGIN
    IF lim < 1 THEN
        RAISE EXCEPTION 'facet_limit must be at least 1, not %', lim USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT midi._has_filter(a) THEN
        RETURN QUERY SELECT * FROM midi._facets_from_views(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'], lim);
        RETURN;
    END IF;
    IF (a.f).manufacturer IS NOT NULL THEN active := active || 'manufacturer'::text; END IF;
    IF (a.f).collection IS NOT NULL THEN active := active || 'collection'::text; END IF;
    IF a.key_set IS NOT NULL THEN active := active || 'key'::text; END IF;
    IF (a.f).categories IS NOT NULL THEN active := active || 'category'::text; END IF;
    IF a.bpm_ranges IS NOT NULL THEN active := active || 'bpm'::text; END IF;
    IF a.tag_all_ids IS NOT NULL OR a.tag_any_ids IS NOT NULL THEN active := active || 'tag'::text; END IF;
    idle := ARRAY(SELECT x FROM unnest(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag']) x
                   WHERE x <> ALL (active));
    IF cardinality(idle) > 0 THEN
        RETURN QUERY SELECT * FROM midi._facet_query(a, idle, NULL, lim);
    END IF;
    FOREACH d IN ARRAY active LOOP
        IF midi._search_where(a, d) = 'true' THEN
            RETURN QUERY SELECT * FROM midi._facets_from_views(ARRAY[d], lim);
        ELSE
            RETURN QUERY SELECT * FROM midi._facet_query(a, ARRAY[d], d, lim);
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi._facets(a midi._search_args, facet_limit integer) IS 'Internal: facet counts of a resolved filter set (materialized views when nothing is filtered)';
CREATE FUNCTION midi._facets_from_views(dims text[], lim integer) RETURNS TABLE(facet text, value text, files bigint, exact boolean)
    LANGUAGE sql STABLE
    AS $$
    (SELECT 'manufacturer', m.manufacturer, m.files, true FROM midi.manufacturer_counts m
      WHERE 'manufacturer' = ANY (dims) ORDER BY m.files DESC, m.manufacturer LIMIT lim)
    UNION ALL
    (SELECT 'collection', c.collection_name, sum(c.files)::bigint, true FROM midi.collection_counts c
      WHERE 'collection' = ANY (dims) GROUP BY c.collection_name ORDER BY 3 DESC, 2 LIMIT lim)
    UNION ALL
    (SELECT 'key', k.key::text, k.files, true FROM midi.key_counts k
      WHERE 'key' = ANY (dims) ORDER BY k.files DESC, k.key::text LIMIT lim)
    UNION ALL
    (SELECT 'category', c.category::text, c.files, true FROM midi.category_counts c
      WHERE 'category' = ANY (dims) ORDER BY c.files DESC, c.category::text LIMIT lim)
    UNION ALL
    (SELECT 'bpm', b.bucket::text, b.files, true FROM midi.bpm_bucket_counts b
      WHERE 'bpm' = ANY (dims) ORDER BY b.files DESC, b.bucket::text LIMIT lim)
    UNION ALL
    (SELECT 'tag', t.name, tc.files, true FROM midi.tag_counts tc JOIN midi.tags t ON t.id = tc.tag_id
      WHERE 'tag' = ANY (dims) ORDER BY tc.files DESC, t.name LIMIT lim)
$$;
COMMENT ON FUNCTION midi._facets_from_views(dims text[], lim integer) IS 'Internal: unfiltered facet counts of the given dimensions, from the materialized views';
CREATE FUNCTION midi._files_cached_from_name() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi._files_cached_from_name() IS 'Trigger function: cached_bpm / cached_key fall back to the BPM and key stated by the file name';
CREATE FUNCTION midi._files_search_vector() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- weight D (tag, category and instrument names) is kept by 45_sync.sql; carry it over unchanged
    NEW.search_vector := midi.file_search_vector(NEW.filename, NEW.manufacturer, NEW.collection_name, NEW.folder_tags)
                         || coalesce(ts_filter(NEW.search_vector, '{d}'), '');
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._files_search_vector() IS 'Trigger function: recomputes files.search_vector from filename, manufacturer, collection and folder tags (keeps weight D)';
CREATE FUNCTION midi._filter_rows(a midi._search_args, skip text DEFAULT NULL::text) RETURNS double precision
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    n double precision;
    sel double precision := 1;
    x double precision;
BEGIN
    IF (a.f).fuzzy OR a.ts_num IS NOT NULL OR (a.f).duration_min IS NOT NULL OR (a.f).duration_max IS NOT NULL
       OR (a.f).notes_min IS NOT NULL OR (a.f).notes_max IS NOT NULL OR (a.f).percussive IS NOT NULL
       OR (a.f).favorites_only OR (a.f).min_rating IS NOT NULL
       OR NOT EXISTS (SELECT 1 FROM midi.search_word_sample) THEN
        RETURN NULL;
    END IF;
    SELECT l.files INTO n FROM midi.library_stats l;
    IF coalesce(n, 0) = 0 THEN
        RETURN NULL;
    END IF;
    IF a.tsq IS NOT NULL AND skip IS DISTINCT FROM 'text' THEN
        sel := sel * least(1, a.text_rows / n);
    END IF;
    IF a.key_set IS NOT NULL AND skip IS DISTINCT FROM 'key' THEN
        SELECT coalesce(sum(k.files), 0) INTO x FROM midi.key_counts k WHERE k.key = ANY (a.key_set);
        sel := sel * least(1, x / n);
    END IF;
    IF a.bpm_ranges IS NOT NULL AND skip IS DISTINCT FROM 'bpm' THEN
        -- a range covers its share of each 10-BPM bucket it overlaps (its upper tempo counted whole)
        SELECT coalesce(sum(b.files * greatest(0, least(upper(r) + 1, b.bucket + 10) - greatest(lower(r), b.bucket)) / 10), 0)
          INTO x FROM midi.bpm_bucket_counts b, unnest(a.bpm_ranges) r
         WHERE b.bucket + 10 > lower(r) AND b.bucket <= upper(r);
        sel := sel * least(1, x / n);
    END IF;
    IF (a.f).manufacturer IS NOT NULL AND skip IS DISTINCT FROM 'manufacturer' THEN
        SELECT coalesce(sum(m.files), 0) INTO x FROM midi.manufacturer_counts m WHERE m.manufacturer = ANY ((a.f).manufacturer);
        sel := sel * least(1, x / n);
    END IF;
    IF (a.f).collection IS NOT NULL AND skip IS DISTINCT FROM 'collection' THEN
        SELECT coalesce(sum(c.files), 0) INTO x FROM midi.collection_counts c WHERE c.collection_name = ANY ((a.f).collection);
        sel := sel * least(1, x / n);
    END IF;
    IF (a.f).categories IS NOT NULL AND skip IS DISTINCT FROM 'category' THEN
        SELECT coalesce(sum(c.files), 0) INTO x FROM midi.category_counts c WHERE c.category = ANY ((a.f).categories);
        sel := sel * least(1, x / n);
    END IF;
    IF a.tag_all_ids IS NOT NULL AND skip IS DISTINCT FROM 'tag' THEN
        SELECT exp(sum(ln(least(1, greatest(coalesce(t.files, 0), 1e-9) / n)))) INTO x
          FROM unnest(a.tag_all_ids) i LEFT JOIN midi.tag_counts t ON t.tag_id = i;
        sel := sel * coalesce(x, 1);
    END IF;
    IF a.tag_any_ids IS NOT NULL AND skip IS DISTINCT FROM 'tag' THEN
        SELECT 1 - exp(sum(ln(greatest(1e-9, 1 - least(1, coalesce(t.files, 0) / n))))) INTO x
          FROM unnest(a.tag_any_ids) i LEFT JOIN midi.tag_counts t ON t.tag_id = i;
        sel := sel * coalesce(x, 0);
    END IF;
    RETURN n * sel;
END;
$$;
COMMENT ON FUNCTION midi._filter_rows(a midi._search_args, skip text) IS 'Internal: estimated files matching a resolved filter set from the word statistics and facet views, no planning; NULL when not countable so';
CREATE FUNCTION midi._filters(filters jsonb, named midi.search_filters DEFAULT NULL::midi.search_filters, also text[] DEFAULT '{}'::text[]) RETURNS midi.search_filters
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    unknown text;
BEGIN
    IF filters IS NULL THEN
        RETURN named;
    END IF;
    IF jsonb_typeof(filters) <> 'object' THEN
        RAISE EXCEPTION 'filters must be a JSON object of search arguments, not %', filters
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
      FROM jsonb_object_keys(filters) k
     WHERE k <> ALL (coalesce(also, '{}'))
       AND k NOT IN (SELECT a.attname FROM pg_attribute a
                      WHERE a.attrelid = 'midi.search_filters'::regclass AND a.attnum > 0 AND NOT a.attisdropped);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown search argument(s): %', unknown USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN jsonb_populate_record(jsonb_populate_record(NULL::midi.search_filters, filters),
                                 jsonb_strip_nulls(to_jsonb(named)));
END;
$$;
COMMENT ON FUNCTION midi._filters(filters jsonb, named midi.search_filters, also text[]) IS 'Internal: the filter set of a call: a JSON object of filters (checked) with the named filters laid over it';
CREATE FUNCTION midi._has_filter(a midi._search_args) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT midi._search_where(a) <> 'true'
$$;
COMMENT ON FUNCTION midi._has_filter(a midi._search_args) IS 'Internal: whether any filter is set';
CREATE FUNCTION midi._import_lock(batch bigint, OUT class_key integer, OUT object_key integer) RETURNS record
    LANGUAGE sql STABLE STRICT
    AS $$
    SELECT 'midi.import_batches'::regclass::oid::integer, (batch & 2147483647)::integer
$$;
COMMENT ON FUNCTION midi._import_lock(batch bigint, OUT class_key integer, OUT object_key integer) IS 'Internal: the advisory lock key (two integers) of an import batch';
CREATE FUNCTION midi._import_refuse_sql() RETURNS text
    LANGUAGE sql STABLE
    AS $_$
    SELECT format('UPDATE midi.import_staging SET error_class = %L, message = concat_ws(%L, %s) '
                  'WHERE batch_id = $1 AND chunk = $2 AND error_class IS NULL AND (%s)',
                  'rejected', '; ',
                  coalesce(string_agg(format('CASE WHEN %s THEN %s END', r.fails, r.message), ', ' ORDER BY r.test), 'NULL'),
                  coalesce(string_agg(r.fails, ' OR ' ORDER BY r.test), 'false'))
      FROM midi.import_refusals() r
$_$;
COMMENT ON FUNCTION midi._import_refuse_sql() IS 'The UPDATE that import_merge runs on a staged chunk to turn rows files would refuse into rejected error rows';
CREATE FUNCTION midi._key_profiles_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM midi._rebuild_key_templates();
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi._key_profiles_changed() IS 'Trigger function: rebuilds key_templates after key_profiles change';
CREATE FUNCTION midi._outside_name(search_vector tsvector, tsq_a tsquery) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT COST 1 PARALLEL SAFE
    AS $$
BEGIN
    RETURN NOT search_vector @@ tsq_a;
END;
$$;
COMMENT ON FUNCTION midi._outside_name(search_vector tsvector, tsq_a tsquery) IS 'Internal: whether a search document misses the query in the file name (second relevance tier)';
CREATE FUNCTION midi._prefix_after(prefix text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
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
COMMENT ON FUNCTION midi._prefix_after(prefix text) IS 'Smallest text above every text starting with prefix (byte order); NULL if none';
CREATE FUNCTION midi._rebuild_key_templates() RETURNS integer
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi._rebuild_key_templates() IS 'Rebuilds key_templates (24 centred unit-length rotations per profile) from key_profiles; returns rows written';
CREATE FUNCTION midi._require_file(file_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM midi.files f WHERE f.id = file_id) THEN
        RAISE EXCEPTION 'no file with id %', file_id USING ERRCODE = 'no_data_found';
    END IF;
END;
$$;
COMMENT ON FUNCTION midi._require_file(file_id bigint) IS 'Internal: raises no_data_found unless the file exists';
CREATE FUNCTION midi._saved_filters(name text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
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
COMMENT ON FUNCTION midi._saved_filters(name text) IS 'Internal: the filters of a saved search (without its sort)';
CREATE FUNCTION midi._search(a midi._search_args, sort text, lim integer) RETURNS SETOF midi.search_hit
    LANGUAGE plpgsql
    SET max_parallel_workers_per_gather TO '0'
    SET jit TO 'off'
    AS $$
DECLARE
    want integer;
    got integer;
    q text;
    plan record;
    ranked boolean;
BEGIN
    IF lim IS NOT NULL AND lim < 1 THEN
        RAISE EXCEPTION 'lim must be at least 1, not %', lim USING ERRCODE = 'invalid_parameter_value';
    END IF;
    want := least(coalesce(lim, 50), 500);
    plan := midi._search_plan(a, sort, want);
    a := plan.args;
    ranked := plan.ranked;
    FOREACH q IN ARRAY midi._search_sql(a, sort, ranked) LOOP
        RETURN QUERY EXECUTE q USING a, want;
        GET DIAGNOSTICS got = ROW_COUNT;
        want := want - got;
        EXIT WHEN want <= 0;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi._search(a midi._search_args, sort text, lim integer) IS 'Internal: runs a search''s queries until lim rows are returned';
CREATE FUNCTION midi._search_args(flt midi.search_filters, sort text DEFAULT NULL::text, after text DEFAULT NULL::text) RETURNS midi._search_args
    LANGUAGE plpgsql
    AS $_$  -- VOLATILE: may ask the planner (EXPLAIN) how broad the text query is
DECLARE
    a midi._search_args;
    ts text[];
    cur jsonb;
BEGIN
    flt.q := midi._clip_query(flt.q);
    a.f := flt;
    -- the yes/no filters: not given (NULL) is no
    a.f.bpm_halfdouble := coalesce(flt.bpm_halfdouble, false);
    a.f.favorites_only := coalesce(flt.favorites_only, false);
    a.f.fuzzy := coalesce(flt.fuzzy, false);
    IF NOT (a.f).fuzzy THEN
        a.tsq := midi.parse_query(flt.q);
        IF a.tsq IS NOT NULL THEN
            a.tsq_a := midi._tsquery_in(a.tsq, 'A');
            -- The GIN index finds a rare word's files in microseconds, but turning a broad word's
            -- hundred thousand postings into a bitmap costs tens of milliseconds (and the planner prices
            -- it as nearly free): above 10,000 estimated matches the text test becomes a filter, and the
            -- query reads the newest-first index, or another filter's index, instead. The estimates come
            -- from the word statistics (midi.search_words: a few index probes); a library never sampled
            -- asks the planner (an EXPLAIN each).
            -- (midi._search_plan refines both choices for a search: its sort, page size and other filters)
            SELECT t.files, t.name_files INTO a.text_rows, a.name_rows FROM midi._text_rows(a.tsq) t;
            IF a.text_rows IS NULL THEN
                a.text_rows := midi._estimate_text_rows(a);
                a.name_rows := midi._estimate_text_rows(a, in_names => true);
            END IF;
            a.text_indexed := a.text_rows <= 10000;
            -- the same for the file-name words (the first relevance tier) of a broad word
            a.name_indexed := a.text_indexed OR a.name_rows <= 10000;
        END IF;
    ELSIF btrim(coalesce(flt.q, '')) = '' THEN
        a.f.q := NULL;
    END IF;
    IF flt.keys IS NOT NULL OR flt.compatible_key IS NOT NULL THEN
        a.key_set := ARRAY(SELECT DISTINCT k FROM unnest(coalesce(flt.keys, '{}') || midi.compatible_keys(flt.compatible_key)) k
                            WHERE k IS NOT NULL ORDER BY k);
    END IF;
    IF flt.tags_all IS NOT NULL THEN
        a.tag_all_ids := ARRAY(SELECT t.id FROM midi.tags t WHERE t.name = ANY (SELECT lower(btrim(x)) FROM unnest(flt.tags_all) x)
                                ORDER BY t.id);
        IF cardinality(a.tag_all_ids) < (SELECT count(DISTINCT lower(btrim(x))) FROM unnest(flt.tags_all) x) THEN
            a.tag_all_ids := '{-1}';   -- a tag that does not exist: no file carries all of them
        END IF;
    END IF;
    IF flt.tags_any IS NOT NULL THEN
        a.tag_any_ids := ARRAY(SELECT t.id FROM midi.tags t WHERE t.name = ANY (SELECT lower(btrim(x)) FROM unnest(flt.tags_any) x)
                                ORDER BY t.id);
        IF cardinality(a.tag_any_ids) = 0 THEN
            a.tag_any_ids := '{-1}';
        END IF;
    END IF;
    IF flt.time_signature IS NOT NULL THEN
        ts := regexp_match(flt.time_signature, '^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$');
        IF ts IS NULL THEN
            RAISE EXCEPTION 'time_signature must look like 4/4, not %', flt.time_signature
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        a.ts_num := ts[1]::smallint;
        a.ts_den := ts[2]::smallint;
    END IF;
    a.bpm_ranges := midi.tempo_ranges(flt.bpm_min, flt.bpm_max, coalesce(flt.bpm_halfdouble, false));
    IF sort IS NOT NULL AND sort NOT IN ('relevance', 'newest', 'bpm', 'name', 'duration') THEN
        RAISE EXCEPTION 'sort must be relevance, newest, bpm, name or duration, not %', sort
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF after IS NOT NULL THEN
        BEGIN
            cur := after::jsonb;
            a.cur_seg := (cur ->> 1)::integer;
            a.cur_id := (cur ->> 3)::bigint;
            CASE cur ->> 0
                WHEN 'relevance', 'newest' THEN
                    IF coalesce(flt.fuzzy, false) AND cur ->> 0 = 'relevance' THEN
                        a.cur_real := (cur ->> 2)::real;
                    ELSE
                        a.cur_ts := (cur ->> 2)::timestamptz;
                    END IF;
                WHEN 'bpm', 'duration' THEN a.cur_num := (cur ->> 2)::numeric;
                WHEN 'name' THEN a.cur_text := cur ->> 2;
                ELSE a.cur_seg := NULL;
            END CASE;
        EXCEPTION WHEN data_exception OR invalid_text_representation THEN
            a.cur_seg := NULL;
        END;
        IF a.cur_seg IS NULL OR a.cur_id IS NULL OR jsonb_typeof(cur) <> 'array' OR jsonb_array_length(cur) <> 4
           OR cur ->> 0 <> midi._search_sort(a, sort) THEN
            RAISE EXCEPTION 'after must be a cursor returned by a search with the same sort (got %)', after
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    RETURN a;
END;
$_$;
COMMENT ON FUNCTION midi._search_args(flt midi.search_filters, sort text, after text) IS 'Internal: resolves filters (query, tiers, keys, tag ids, tempo ranges) and the keyset cursor once per call';
CREATE FUNCTION midi._search_columns(ids bigint[], derived_files bigint[], derived_tags bigint[]) RETURNS TABLE(file_id bigint, bpm numeric, key midi.musical_key, category midi.file_category, tag_ids bigint[], search_vector tsvector)
    LANGUAGE sql STABLE
    AS $$
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
COMMENT ON FUNCTION midi._search_columns(ids bigint[], derived_files bigint[], derived_tags bigint[]) IS 'Internal: cached_bpm/key/category, tag_ids and search_vector (weight-D words recomputed) of the given files, from their child rows and computed tags';
CREATE FUNCTION midi._search_count(a midi._search_args, cap integer) RETURNS TABLE(files bigint, exact boolean)
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $_$  -- compiling a count of a few thousand rows costs more than it saves
DECLARE
    n bigint;
    est double precision;
    share double precision;  -- sampled documents per library file
    direct boolean;          -- the estimate is a sampled count, not a combination
BEGIN
    IF cap IS NULL OR cap < 0 THEN
        RAISE EXCEPTION 'cap must be 0 or more, not %', cap USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cap := least(cap, 100000);
    est := midi._filter_rows(a);
    SELECT w.sampled::double precision / greatest(w.files, 1) INTO share FROM midi.search_word_sample w;
    direct := est IS NOT NULL AND (a.tsq IS NULL OR numnode(a.tsq) = 1)
              AND midi._filter_rows(a, 'text') >= (SELECT l.files FROM midi.library_stats l)
              AND est * least(share, 1) >= 100;
    IF NOT coalesce(direct, false) OR est < greatest(2.0 * (cap + 1), 1000) THEN
        a := (midi._search_plan(a, 'newest', cap + 1)).args;  -- the text query through its index or not
        EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM midi.files f WHERE ' || midi._search_where(a) || ' LIMIT $2) s'
           INTO n USING a, cap + 1;
        IF n <= cap THEN
            RETURN QUERY SELECT n, true;
            RETURN;
        END IF;
        est := coalesce(est, midi._estimate_rows(a));
    END IF;
    RETURN QUERY SELECT greatest(round(est)::bigint, cap + 1::bigint), false;
END;
$_$;
COMMENT ON FUNCTION midi._search_count(a midi._search_args, cap integer) IS 'Internal: exact match count up to cap, else an estimate flagged exact = false (statistics say: no rows read)';
CREATE FUNCTION midi._search_plan(a midi._search_args, sort text, want integer, OUT args midi._search_args, OUT ranked boolean) RETURNS record
    LANGUAGE plpgsql
    AS $$  -- VOLATILE: may ask the planner (EXPLAIN) about filters the views do not count
DECLARE
    n double precision;
    cand double precision;   -- files matching the filters but the text query
    m double precision;      -- ... and the text query
    m1 double precision;     -- ... with every word in the file name (first relevance tier)
    gin double precision;    -- cost of the text query through its index
    scan double precision;   -- cost of the text query as a filter until the page is full
    tiers double precision;
    flat double precision;
BEGIN
    args := a;
    ranked := false;
    IF a.tsq IS NULL THEN
        RETURN;
    END IF;
    SELECT s.files INTO n FROM midi.search_word_sample s;
    IF n IS NULL THEN  -- never sampled: the planner's count of the table
        SELECT c.reltuples INTO n FROM pg_catalog.pg_class c WHERE c.oid = 'midi.files'::regclass;
    END IF;
    n := greatest(n, a.text_rows, 1);
    IF a.key_set IS NULL AND a.bpm_ranges IS NULL AND a.tag_all_ids IS NULL AND a.tag_any_ids IS NULL
       AND a.ts_num IS NULL AND (a.f).manufacturer IS NULL AND (a.f).collection IS NULL
       AND (a.f).categories IS NULL AND (a.f).duration_min IS NULL AND (a.f).duration_max IS NULL
       AND (a.f).notes_min IS NULL AND (a.f).notes_max IS NULL AND (a.f).percussive IS NULL
       AND NOT (a.f).favorites_only AND (a.f).min_rating IS NULL THEN
        cand := n;  -- no other filter
    ELSE
        cand := greatest(midi._estimate_matches(a, 'text'), 1);
    END IF;
    m := cand * least(1, a.text_rows / n);
    m1 := cand * least(1, coalesce(a.name_rows, a.text_rows) / n);
    -- the text query in general (every sort, the second relevance tier, counts)
    gin := a.text_rows * 0.2 + m * 0.7;
    scan := 1.5 * CASE WHEN m < want THEN cand ELSE want * cand / m END;
    args.text_indexed := gin < scan;
    IF midi._search_sort(a, sort) <> 'relevance' THEN
        RETURN;
    END IF;
    -- tier 1, on the file-name words
    args.name_indexed := coalesce(a.name_rows, a.text_rows) * 0.2 + m1 * 0.7
                         < 1.5 * CASE WHEN m1 < want THEN cand ELSE want * cand / m1 END;
    tiers := least(coalesce(a.name_rows, a.text_rows) * 0.2 + m1 * 0.7,
                   1.5 * CASE WHEN m1 < want THEN cand ELSE want * cand / m1 END);
    IF m1 < want THEN  -- tier 2 runs too
        tiers := tiers + least(gin, 1.5 * CASE WHEN m - m1 < want - m1 THEN cand
                                               ELSE (want - m1) * cand / greatest(m - m1, 1) END);
    END IF;
    -- one ranked query: every match (through the index, or every candidate tested), then a sort
    flat := CASE WHEN args.text_indexed THEN gin ELSE 1.5 * cand END + 0.05 * m;
    ranked := flat < tiers;
END;
$$;
COMMENT ON FUNCTION midi._search_plan(a midi._search_args, sort text, want integer, OUT args midi._search_args, OUT ranked boolean) IS 'Internal: a text search''s strategy from the estimates: text and name words through their index or as filters, ranked or tier by tier';
CREATE FUNCTION midi._search_sort(a midi._search_args, sort text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE
        WHEN coalesce(sort, 'relevance') = 'relevance' AND (a.tsq IS NOT NULL OR (a.f).q IS NOT NULL AND (a.f).fuzzy)
            THEN 'relevance'
        WHEN coalesce(sort, 'relevance') = 'relevance' THEN 'newest'
        ELSE sort END
$$;
COMMENT ON FUNCTION midi._search_sort(a midi._search_args, sort text) IS 'Internal: the effective sort of a search';
CREATE FUNCTION midi._search_sql(a midi._search_args, sort text, ranked boolean DEFAULT false) RETURNS text[]
    LANGUAGE plpgsql STABLE
    AS $_$
DECLARE
    s text := midi._search_sort(a, sort);
    base text := midi._search_where(a);
    base_notext text := midi._search_where(a, 'text');
    sim text;
    rank text;
    tier text := 'CASE WHEN f.search_vector @@ ($1).tsq_a THEN 1 ELSE 2 END';
    cols text := 'f.id, f.filename, f.filepath::text AS filepath, f.manufacturer, f.collection_name AS collection,'
                 || E'\n       f.cached_bpm AS bpm, f.cached_key AS key, f.cached_category AS category, f.duration_seconds AS duration,'
                 -- a correlated probe per returned row, never a hash of all favorites
                 || E'\n       coalesce((SELECT true FROM midi.favorites fv WHERE fv.file_id = f.id), false) AS is_favorite,';
    -- per segment: extra condition, ORDER BY, cursor value, keyset condition (after the cursor row), rank
    seg_cond text[];
    seg_order text[];
    seg_value text[];
    seg_after text[];
    seg_rank text[];
    out text[] := '{}';
BEGIN
    IF a.tsq IS NOT NULL THEN
        rank := '(ARRAY[1.0, 0.5])[' || tier || ']';
    ELSIF (a.f).fuzzy AND (a.f).q IS NOT NULL THEN
        sim := format('%I.word_similarity((($1).f).q, f.filename)', midi._trgm_schema());
        rank := sim;
    ELSE
        rank := 'NULL';
    END IF;
    IF s = 'relevance' AND sim IS NOT NULL THEN
        -- Trigram candidates of a common word run to the hundred thousand and each costs a similarity
        -- computation: the best matches are taken from the first 2,000 candidates.
        RETURN ARRAY[
            'SELECT ' || cols
            || E'\n       f.sim AS rank,'
            || E'\n       jsonb_build_array(''relevance'', 1, to_jsonb(f.sim), f.id)::text AS cursor'
            || E'\n  FROM (SELECT f.*, ' || sim || '::real AS sim FROM midi.files f'
            || E'\n         WHERE ' || base || ' LIMIT 2000) f'
            || CASE WHEN a.cur_seg IS NOT NULL THEN E'\n WHERE (f.sim, f.id) < (($1).cur_real, ($1).cur_id)' ELSE '' END
            || E'\n ORDER BY f.sim DESC, f.id DESC'
            || E'\n LIMIT $2'];
    END IF;
    IF s = 'relevance' AND sim IS NULL AND ranked THEN
        RETURN ARRAY[
            'SELECT ' || cols
            || E'\n       (ARRAY[1.0, 0.5])[f.tier]::real AS rank,'
            || E'\n       jsonb_build_array(''relevance'', f.tier, to_jsonb(f.created_at), f.id)::text AS cursor'
            || E'\n  FROM (SELECT f.*, ' || tier || ' AS tier FROM midi.files f'
            || E'\n         WHERE ' || base || ') f'
            || CASE WHEN a.cur_seg IS NOT NULL
                    THEN E'\n WHERE f.tier > ($1).cur_seg OR (f.tier = ($1).cur_seg AND (f.created_at, f.id) < (($1).cur_ts, ($1).cur_id))'
                    ELSE '' END
            || E'\n ORDER BY f.tier, f.created_at DESC, f.id DESC'
            || E'\n LIMIT $2'];
    END IF;
    CASE s
        WHEN 'relevance' THEN
            -- Tier 1 (the file name holds every word) is either found by the file-name word index
            -- (midi.name_tsvector, the unweighted weight-A part of search_vector: a word rare in names, such
            -- as a manufacturer's name), or tested on each file of a newest-first or other filter's scan as
            -- the weight-A test, written "IS TRUE" so the index is not asked (a bitmap of a word common in
            -- names costs more than the planner thinks; _search_plan chooses). Tier 2 is the rest of the
            -- matches: the text test and not the weight-A test (_outside_name). (Tier 1 leaves the text test out: a name
            -- match is a text match, and the planner would multiply the two as if they were independent.)
            seg_cond := ARRAY[CASE WHEN a.name_indexed THEN 'midi.name_tsvector(f.filename) @@ ($1).tsq'
                                   ELSE '(f.search_vector @@ ($1).tsq_a) IS TRUE' END,
                              'midi._outside_name(f.search_vector, ($1).tsq_a)'];
            seg_order := array_fill('f.created_at DESC, f.id DESC'::text, ARRAY[2]);
            seg_value := array_fill('to_jsonb(f.created_at)'::text, ARRAY[2]);
            seg_after := array_fill('f.created_at <= ($1).cur_ts AND (f.created_at, f.id) < (($1).cur_ts, ($1).cur_id)'::text, ARRAY[2]);
            seg_rank := ARRAY['1.0', '0.5'];
        WHEN 'newest' THEN
            seg_cond := ARRAY['true'];
            seg_order := ARRAY['f.created_at DESC, f.id DESC'];
            seg_value := ARRAY['to_jsonb(f.created_at)'];
            seg_after := ARRAY['f.created_at <= ($1).cur_ts AND (f.created_at, f.id) < (($1).cur_ts, ($1).cur_id)'];
            seg_rank := ARRAY[rank];
        WHEN 'bpm' THEN
            seg_cond := ARRAY['f.cached_bpm IS NOT NULL', 'f.cached_bpm IS NULL'];
            seg_order := ARRAY['f.cached_bpm, f.id', 'f.id'];
            seg_value := ARRAY['to_jsonb(f.cached_bpm)', 'NULL::jsonb'];
            seg_after := ARRAY['f.cached_bpm >= ($1).cur_num AND (f.cached_bpm, f.id) > (($1).cur_num, ($1).cur_id)',
                               'f.id > ($1).cur_id'];
            seg_rank := ARRAY[rank, rank];
        WHEN 'duration' THEN
            seg_cond := ARRAY['f.duration_seconds IS NOT NULL', 'f.duration_seconds IS NULL'];
            seg_order := ARRAY['f.duration_seconds, f.id', 'f.id'];
            seg_value := ARRAY['to_jsonb(f.duration_seconds)', 'NULL::jsonb'];
            seg_after := ARRAY['f.duration_seconds >= ($1).cur_num AND (f.duration_seconds, f.id) > (($1).cur_num, ($1).cur_id)',
                               'f.id > ($1).cur_id'];
            seg_rank := ARRAY[rank, rank];
        WHEN 'name' THEN
            seg_cond := ARRAY['true'];
            seg_order := ARRAY['f.filename, f.id'];
            seg_value := ARRAY['to_jsonb(f.filename)'];
            seg_after := ARRAY['f.filename >= ($1).cur_text AND (f.filename, f.id) > (($1).cur_text, ($1).cur_id)'];
            seg_rank := ARRAY[rank];
    END CASE;
    FOR i IN coalesce(a.cur_seg, 1) .. cardinality(seg_cond) LOOP
        out := out || (
            'SELECT ' || cols
            || E'\n       (' || seg_rank[i] || ')::real AS rank,'
            || E'\n       jsonb_build_array(' || quote_literal(s) || ', ' || i || ', ' || seg_value[i] || ', f.id)::text AS cursor'
            || E'\n  FROM midi.files f'
            || E'\n WHERE ' || CASE WHEN s = 'relevance' AND i = 1 THEN base_notext ELSE base END
            || CASE WHEN seg_cond[i] <> 'true' THEN E'\n   AND ' || seg_cond[i] ELSE '' END
            || CASE WHEN i = a.cur_seg THEN E'\n   AND ' || seg_after[i] ELSE '' END
            || E'\n ORDER BY ' || seg_order[i]
            || E'\n LIMIT $2');
    END LOOP;
    RETURN out;
END;
$_$;
COMMENT ON FUNCTION midi._search_sql(a midi._search_args, sort text, ranked boolean) IS 'Internal: the index-ordered segment queries of a search (or one ranked query), in output order, from the cursor on';
CREATE FUNCTION midi._search_where(a midi._search_args, skip text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $_$
DECLARE
    w text[] := ARRAY['true'];
    mm text[] := '{}';
    r text[] := '{}';
BEGIN
    IF a.tsq IS NOT NULL AND skip IS DISTINCT FROM 'text' THEN
        -- IS TRUE keeps a broad word's test out of the GIN index (see _search_args)
        w := w || CASE WHEN a.text_indexed THEN 'f.search_vector @@ ($1).tsq' ELSE '(f.search_vector @@ ($1).tsq) IS TRUE' END;
    ELSIF (a.f).fuzzy AND (a.f).q IS NOT NULL THEN
        w := w || format('(($1).f).q OPERATOR(%I.<%%) f.filename', midi._trgm_schema());
    END IF;
    -- one value is written as equality: before PostgreSQL 17 an index scan with "= ANY" is not ordered,
    -- and the ordered (value, created_at, id) scans are what make a filtered newest-first page cheap
    IF a.key_set IS NOT NULL AND skip IS DISTINCT FROM 'key' THEN
        w := w || CASE WHEN cardinality(a.key_set) = 1 THEN 'f.cached_key = (($1).key_set)[1]'
                       ELSE 'f.cached_key = ANY (($1).key_set)' END;
    END IF;
    IF (a.f).manufacturer IS NOT NULL AND skip IS DISTINCT FROM 'manufacturer' THEN
        w := w || CASE WHEN cardinality((a.f).manufacturer) = 1 THEN 'f.manufacturer = ((($1).f).manufacturer)[1]'
                       ELSE 'f.manufacturer = ANY ((($1).f).manufacturer)' END;
    END IF;
    IF (a.f).collection IS NOT NULL AND skip IS DISTINCT FROM 'collection' THEN
        w := w || CASE WHEN cardinality((a.f).collection) = 1 THEN 'f.collection_name = ((($1).f).collection)[1]'
                       ELSE 'f.collection_name = ANY ((($1).f).collection)' END;
    END IF;
    IF (a.f).categories IS NOT NULL AND skip IS DISTINCT FROM 'category' THEN
        w := w || CASE WHEN cardinality((a.f).categories) = 1 THEN 'f.cached_category = ((($1).f).categories)[1]'
                       ELSE 'f.cached_category = ANY ((($1).f).categories)' END;
    END IF;
    IF a.bpm_ranges IS NOT NULL AND skip IS DISTINCT FROM 'bpm' THEN
        FOR i IN 1 .. cardinality(a.bpm_ranges) LOOP
            r := r || format('f.cached_bpm BETWEEN lower((($1).bpm_ranges)[%s]) AND upper((($1).bpm_ranges)[%s])', i, i);
        END LOOP;
        w := w || ('(' || array_to_string(r, ' OR ') || ')');
    END IF;
    IF a.tag_all_ids IS NOT NULL AND skip IS DISTINCT FROM 'tag' THEN
        w := w || 'f.tag_ids @> ($1).tag_all_ids'::text;
    END IF;
    IF a.tag_any_ids IS NOT NULL AND skip IS DISTINCT FROM 'tag' THEN
        w := w || 'f.tag_ids && ($1).tag_any_ids'::text;
    END IF;
    IF (a.f).duration_min IS NOT NULL THEN
        w := w || 'f.duration_seconds >= (($1).f).duration_min'::text;
    END IF;
    IF (a.f).duration_max IS NOT NULL THEN
        w := w || 'f.duration_seconds <= (($1).f).duration_max'::text;
    END IF;
    IF a.ts_num IS NOT NULL THEN
        mm := mm || 'm.time_signature_numerator = ($1).ts_num AND m.time_signature_denominator = ($1).ts_den'::text;
    END IF;
    IF (a.f).notes_min IS NOT NULL THEN
        mm := mm || 'm.total_notes >= (($1).f).notes_min'::text;
    END IF;
    IF (a.f).notes_max IS NOT NULL THEN
        mm := mm || 'm.total_notes <= (($1).f).notes_max'::text;
    END IF;
    IF (a.f).percussive IS NOT NULL THEN
        mm := mm || 'm.is_percussive = (($1).f).percussive'::text;
    END IF;
    IF cardinality(mm) > 0 THEN
        w := w || ('EXISTS (SELECT 1 FROM midi.musical_metadata m WHERE m.file_id = f.id AND '
                   || array_to_string(mm, ' AND ') || ')');
    END IF;
    IF (a.f).favorites_only THEN
        w := w || 'EXISTS (SELECT 1 FROM midi.favorites fv WHERE fv.file_id = f.id)'::text;
    END IF;
    IF (a.f).min_rating IS NOT NULL THEN
        w := w || 'EXISTS (SELECT 1 FROM midi.ratings rt WHERE rt.file_id = f.id AND rt.rating >= (($1).f).min_rating)'::text;
    END IF;
    RETURN array_to_string(w, E'\n   AND ');
END;
$_$;
COMMENT ON FUNCTION midi._search_where(a midi._search_args, skip text) IS 'Internal: WHERE clause of a resolved filter set (values read from $1), optionally without one facet dimension';
CREATE FUNCTION midi._search_words_refresh(force boolean DEFAULT false) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    n bigint;
    an bigint;
    s midi.search_word_sample;
    pct double precision;
    got bigint;
BEGIN
    SELECT l.files, l.analyzed INTO n, an FROM midi.library_stats l;
    n := coalesce(n, 0);
    an := coalesce(an, 0);
    SELECT * INTO s FROM midi.search_word_sample;
    IF NOT force AND s.singleton IS NOT NULL
       AND abs(n - s.files) <= 0.1 * greatest(s.files, 1000)
       AND abs(an - s.analyzed) <= 0.1 * greatest(s.files, 1000) THEN
        RETURN false;
    END IF;
    pct := least(100, 100.0 * 10000 / greatest(n, 1));
    -- documents read: the sample's rows (REPEATABLE: the same pages as below; a document without words counts)
    SELECT count(*) INTO got FROM midi.files f TABLESAMPLE SYSTEM (pct) REPEATABLE (0);
    DELETE FROM midi.search_words;  -- not TRUNCATE: searches keep reading the old rows until commit
    INSERT INTO midi.search_words (word, files, name_files)
    SELECT w.lexeme, count(*)::real * n / greatest(got, 1),
           count(*) FILTER (WHERE 'A' = ANY (w.weights))::real * n / greatest(got, 1)
      FROM (SELECT f.search_vector FROM midi.files f TABLESAMPLE SYSTEM (pct) REPEATABLE (0)) d
     CROSS JOIN LATERAL unnest(d.search_vector) AS w
     GROUP BY w.lexeme;
    INSERT INTO midi.search_word_sample (singleton, files, analyzed, sampled, taken_at)
    VALUES (true, n, an, got, now())
    ON CONFLICT (singleton) DO UPDATE
       SET files = excluded.files, analyzed = excluded.analyzed, sampled = excluded.sampled, taken_at = excluded.taken_at;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION midi._search_words_refresh(force boolean) IS 'Internal: re-samples midi.search_words when the library changed by more than a tenth (or force); true when it sampled';
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
CREATE FUNCTION midi._strategy_indexes(lookups text[], methods text[], fixed text[], order_column text) RETURNS SETOF text
    LANGUAGE sql STABLE
    AS $$
    WITH ix AS (
        SELECT c.relname::text AS name, am.amname::text AS method, i.indexrelid, i.indnkeyatts,
               regexp_replace(pg_get_indexdef(i.indexrelid, 1, true), '^[a-z_][a-z0-9_]*\.', '') AS lead,
               (SELECT o.opcname::text FROM pg_opclass o WHERE o.oid = i.indclass[0]) AS opclass
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_am am ON am.oid = c.relam
         WHERE i.indrelid = 'midi.files'::regclass AND i.indisvalid AND i.indisready)
    SELECT ix.name FROM ix
     WHERE EXISTS (SELECT 1 FROM unnest(lookups, methods) AS x(col, how)
                    WHERE ix.lead = x.col
                      AND CASE x.how WHEN 'btree' THEN ix.method = 'btree'
                                     WHEN 'gin' THEN ix.method IN ('gin', 'gist')
                                     WHEN 'trgm' THEN ix.method IN ('gin', 'gist') AND ix.opclass LIKE '%trgm%'
                                     ELSE false END)
        OR (order_column IS NOT NULL AND ix.method = 'btree'
            AND EXISTS (SELECT 1 FROM generate_series(1, ix.indnkeyatts) AS k
                         WHERE pg_get_indexdef(ix.indexrelid, k, true) = order_column
                           AND NOT EXISTS (SELECT 1 FROM generate_series(1, k - 1) AS j
                                            WHERE pg_get_indexdef(ix.indexrelid, j, true) <> ALL (coalesce(fixed, '{}')))))
     ORDER BY 1
$$;
COMMENT ON FUNCTION midi._strategy_indexes(lookups text[], methods text[], fixed text[], order_column text) IS 'Internal: valid indexes of midi.files that look up one of the given columns, or return rows in the given order';
CREATE FUNCTION midi._sync_deferred() RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(current_setting('midi.defer_sync', true), '') = 'on'
$$;
COMMENT ON FUNCTION midi._sync_deferred() IS 'Whether SET LOCAL midi.defer_sync = on is in effect';
CREATE FUNCTION midi._sync_from_children() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi._sync_from_children() IS 'Trigger function: re-syncs the denormalized search columns of the files a child-table statement touched';
CREATE FUNCTION midi._sync_from_tags() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi._sync_from_tags() IS 'Trigger function: re-syncs the search columns of files whose tag was renamed or deleted';
CREATE FUNCTION midi._tag_name(name text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF nullif(btrim(name), '') IS NULL THEN
        RAISE EXCEPTION 'a tag name cannot be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN lower(btrim(name));
END;
$$;
COMMENT ON FUNCTION midi._tag_name(name text) IS 'Internal: canonical tag name (trimmed, lower case); empty is an error';
CREATE FUNCTION midi._text_rows(tsq tsquery, OUT files double precision, OUT name_files double precision) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $_$
DECLARE
    s midi.search_word_sample;
    n double precision;
    unseen double precision;
    tok text[];
    ops text[] := '{}';      -- operator stack (shunting-yard)
    rpn text[] := '{}';      -- the query in postfix: 'w<lexeme>', 'p<prefix>', '&', '|', '!'
    op text;
    prec integer;
    x text;
    d double precision[] := '{}';   -- value stacks: selectivity over documents and over names
    m double precision[] := '{}';
    a1 double precision; a2 double precision; b1 double precision; b2 double precision;
    lex text;
BEGIN
    SELECT * INTO s FROM midi.search_word_sample;
    IF s.singleton IS NULL OR tsq IS NULL THEN
        RETURN;
    END IF;
    n := greatest(s.files, 1);
    unseen := CASE WHEN s.sampled >= s.files THEN 0 ELSE n / greatest(s.sampled, 1) END;
    IF tsq::text !~ '[|!()]' THEN
        -- words joined by "and" or phrases only (the common case): the product, in one statement
        -- (each factor at least 1e-12, the product at least 1e-300: no underflow for a thousand words)
        SELECT n * exp(greatest(sum(ln(greatest(least(1, (coalesce(c.files, 0) + unseen) / n), 1e-12))), -690)),
               n * exp(greatest(sum(ln(greatest(least(1, (coalesce(c.name_files, 0) + unseen) / n), 1e-12))), -690))
          INTO files, name_files
          FROM (SELECT replace(r.m[1], '''''', '''') AS lex, coalesce(r.m[2], '') LIKE '%*%' AS prefix
                  FROM regexp_matches(tsq::text, $re$'((?:[^']|'')*)'(?::([*A-D]+))?$re$, 'g') AS r(m)) t
         CROSS JOIN LATERAL (
               SELECT sum(w.files) AS files, sum(w.name_files) AS name_files FROM midi.search_words w
                WHERE w.word >= t.lex AND w.word <= CASE WHEN t.prefix THEN t.lex || chr(1114111) ELSE t.lex END) c;
        RETURN;
    END IF;
    FOR tok IN SELECT regexp_matches(tsq::text, $re$'((?:[^']|'')*)'(?::([*A-D]+))?|(<(?:-|\d+)>|[&|!()])$re$, 'g') LOOP
        IF tok[1] IS NOT NULL THEN
            rpn := rpn || ((CASE WHEN strpos(coalesce(tok[2], ''), '*') > 0 THEN 'p' ELSE 'w' END) || replace(tok[1], '''''', ''''));
            CONTINUE;
        END IF;
        op := CASE WHEN tok[3] LIKE '<%' THEN '&' ELSE tok[3] END;  -- a phrase counts as "and"
        IF op = '(' OR op = '!' THEN
            ops := ops || op;
        ELSIF op = ')' THEN
            WHILE cardinality(ops) > 0 AND ops[cardinality(ops)] <> '(' LOOP
                rpn := rpn || ops[cardinality(ops)];
                ops := trim_array(ops, 1);
            END LOOP;
            ops := trim_array(ops, least(1, cardinality(ops)));
        ELSE
            prec := CASE op WHEN '&' THEN 2 ELSE 1 END;
            WHILE cardinality(ops) > 0 AND ops[cardinality(ops)] <> '('
                  AND CASE ops[cardinality(ops)] WHEN '!' THEN 3 WHEN '&' THEN 2 ELSE 1 END >= prec LOOP
                rpn := rpn || ops[cardinality(ops)];
                ops := trim_array(ops, 1);
            END LOOP;
            ops := ops || op;
        END IF;
    END LOOP;
    WHILE cardinality(ops) > 0 LOOP
        IF ops[cardinality(ops)] <> '(' THEN
            rpn := rpn || ops[cardinality(ops)];
        END IF;
        ops := trim_array(ops, 1);
    END LOOP;
    FOREACH x IN ARRAY rpn LOOP
        CASE left(x, 1)
            WHEN 'w', 'p' THEN
                lex := substr(x, 2);
                IF left(x, 1) = 'w' THEN
                    SELECT w.files, w.name_files INTO a1, b1 FROM midi.search_words w WHERE w.word = lex;
                ELSE
                    SELECT sum(w.files), sum(w.name_files) INTO a1, b1 FROM midi.search_words w
                     WHERE w.word >= lex AND w.word < lex || chr(1114111);
                END IF;
                d := d || least(1, (coalesce(a1, 0) + unseen) / n);
                m := m || least(1, (coalesce(b1, 0) + unseen) / n);
            WHEN '!' THEN
                d[cardinality(d)] := 1 - d[cardinality(d)];
                m[cardinality(m)] := 1 - m[cardinality(m)];
            ELSE
                a2 := d[cardinality(d)]; b2 := m[cardinality(m)];
                d := trim_array(d, 1); m := trim_array(m, 1);
                a1 := d[cardinality(d)]; b1 := m[cardinality(m)];
                -- every product of two operands at least 1e-150 each: never below 1e-300, no underflow
                -- (an "or" of two vanishing operands multiplies them too)
                a1 := greatest(a1, 1e-150); a2 := greatest(a2, 1e-150);
                b1 := greatest(b1, 1e-150); b2 := greatest(b2, 1e-150);
                IF x = '&' THEN
                    d[cardinality(d)] := a1 * a2;
                    m[cardinality(m)] := b1 * b2;
                ELSE
                    d[cardinality(d)] := a1 + a2 - a1 * a2;
                    m[cardinality(m)] := b1 + b2 - b1 * b2;
                END IF;
        END CASE;
    END LOOP;
    files := n * d[1];
    name_files := n * m[1];
END;
$_$;
COMMENT ON FUNCTION midi._text_rows(tsq tsquery, OUT files double precision, OUT name_files double precision) IS 'Internal: estimated files matching a tsquery (whole documents, file names) from midi.search_words; NULL if never sampled';
CREATE FUNCTION midi._touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._touch_updated_at() IS 'Trigger function: sets NEW.updated_at = now() on every update';
CREATE FUNCTION midi._trgm_schema() RETURNS name
    LANGUAGE sql STABLE
    AS $$
    SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'
$$;
COMMENT ON FUNCTION midi._trgm_schema() IS 'Internal: schema of the pg_trgm extension';
CREATE FUNCTION midi._tsquery_in(tsq tsquery, weights text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
    SELECT regexp_replace(tsq::text, $re$('(?:[^']|'')*')(?::(\*))?$re$, '\1:\2' || weights, 'g')::tsquery
$_$;
COMMENT ON FUNCTION midi._tsquery_in(tsq tsquery, weights text) IS 'Internal: a tsquery with every lexeme restricted to the given weights';
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
CREATE FUNCTION midi.analysis_apply(batch bigint, version integer) RETURNS TABLE(analyzed integer, errors integer)
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi.analysis_apply(batch bigint, version integer) IS 'Applies one staged analysis batch (facts, instruments, categories, tags, errors, retries, files.analyzed_at); a file the catalog refuses becomes a rejected error; returns (analyzed, errors)';
CREATE FUNCTION midi.analysis_claim(after_id bigint, max_files integer, version integer, reanalyze_before timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(file_id bigint, paths text[], paths_bytes bytea[], suspect boolean, content_hash bytea)
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi.analysis_claim(after_id bigint, max_files integer, version integer, reanalyze_before timestamp with time zone) IS 'Locks (SKIP LOCKED) up to max_files files after after_id that need analysis; returns their paths (canonical first), suspect flag and content hash';
CREATE FUNCTION midi.analysis_finish() RETURNS integer
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF to_regprocedure('midi.refresh_views()') IS NOT NULL THEN
        RETURN midi.refresh_views();
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi.analysis_finish() IS 'Ends an analysis run: refreshes the facet views (midi.refresh_views) when present';
CREATE FUNCTION midi.analysis_max_attempts() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$
    SELECT CASE WHEN v ~ '^\s*0*[1-9][0-9]{0,8}\s*$' THEN v::integer ELSE 3 END
      FROM (SELECT current_setting('midi.analysis_max_attempts', true) AS v) s
$_$;
COMMENT ON FUNCTION midi.analysis_max_attempts() IS 'Transient analysis failures in a row before a file is given up: setting midi.analysis_max_attempts, default 3';
CREATE FUNCTION midi.analysis_needed(analyzed_at timestamp with time zone, analyzer_version integer, version integer, reanalyze_before timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT analyzed_at IS NULL OR analyzer_version IS NULL OR analyzer_version < version
        OR coalesce(analyzed_at < reanalyze_before, false)
$$;
COMMENT ON FUNCTION midi.analysis_needed(analyzed_at timestamp with time zone, analyzer_version integer, version integer, reanalyze_before timestamp with time zone) IS 'True when a file is unanalyzed, analyzed by an older analyzer, or analyzed before reanalyze_before';
CREATE FUNCTION midi.analysis_next_batch() RETURNS bigint
    LANGUAGE sql
    AS $$
    SELECT nextval('midi.analysis_batch_seq')
$$;
COMMENT ON FUNCTION midi.analysis_next_batch() IS 'A new analysis batch number for analysis_staging';
CREATE FUNCTION midi.analysis_pending(version integer, reanalyze_before timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT count(*) FROM midi.files f LEFT JOIN midi.analysis_retries r ON r.file_id = f.id
     WHERE CASE WHEN r.file_id IS NULL
                THEN midi.analysis_needed(f.analyzed_at, f.analyzer_version, version, reanalyze_before)
                ELSE r.attempts < midi.analysis_max_attempts() OR coalesce(r.last_failed_at < reanalyze_before, false)
           END
$$;
COMMENT ON FUNCTION midi.analysis_pending(version integer, reanalyze_before timestamp with time zone) IS 'Number of files needing analysis';
CREATE FUNCTION midi.analysis_transient(error_class text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(error_class IN ('unreadable', 'vanished', 'not_regular_file', 'changed', 'timeout',
                                    'worker_crash', 'out_of_memory'), false)
$$;
COMMENT ON FUNCTION midi.analysis_transient(error_class text) IS 'True for analysis error classes that say nothing about the bytes (kept facts, retried): unreadable, vanished, not_regular_file, changed, timeout, worker_crash, out_of_memory';
CREATE FUNCTION midi.bpm_bucket(bpm numeric) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT (floor(bpm / 10) * 10)::integer || '-' || ((floor(bpm / 10) * 10)::integer + 9) || ' bpm'
$$;
COMMENT ON FUNCTION midi.bpm_bucket(bpm numeric) IS 'The 10-BPM bucket tag of a tempo: 124.5 -> 120-129 bpm';
CREATE FUNCTION midi.bulk_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT 7883943025935993931::bigint  -- the bytes of 'midiBULK' read as a number: a constant no other tool uses
$$;
COMMENT ON FUNCTION midi.bulk_lock_key() IS 'The advisory lock key a bulk load holds while its search indexes are deferred';
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
    channel smallint,
    program smallint,
    is_drum boolean DEFAULT false NOT NULL,
    note_count integer DEFAULT 0 NOT NULL,
    instrument_name text,
    CONSTRAINT file_instruments_channel_check CHECK (((channel >= 0) AND (channel <= 15))),
    CONSTRAINT file_instruments_note_count_check CHECK ((note_count >= 0)),
    CONSTRAINT file_instruments_program_check CHECK (((program >= 0) AND (program <= 127)))
);
COMMENT ON COLUMN midi.file_instruments.channel IS 'MIDI channel 0-15 of the part; NULL when the parser could not prove it (never a stand-in)';
COMMENT ON COLUMN midi.file_instruments.program IS 'GM program 0-127 set by a program change (the kit on a drum channel); NULL when no program change set it';
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
CREATE TABLE midi.file_tags (
    file_id bigint NOT NULL,
    tag_id bigint NOT NULL,
    source text DEFAULT 'user'::text NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT file_tags_source_check CHECK ((source = ANY (ARRAY['path'::text, 'analysis'::text, 'user'::text])))
);
COMMENT ON TABLE midi.file_tags IS 'The tags users gave files (midi.tag); the tags a file''s facts give are computed into files.tag_ids';
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
    tag_ids bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    analyzer_version integer,
    CONSTRAINT files_analyzer_version_check CHECK ((analyzer_version > 0)),
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
COMMENT ON COLUMN midi.files.cached_bpm IS 'musical_metadata.bpm, else filename_bpm (kept by trigger)';
COMMENT ON COLUMN midi.files.cached_key IS 'musical_metadata.key_signature unless UNKNOWN, else filename_key (kept by trigger)';
COMMENT ON COLUMN midi.files.cached_category IS 'file_categories.primary_category (kept by trigger)';
COMMENT ON COLUMN midi.files.midi_warnings IS 'Structural problems of a readable file (track_count_mismatch, truncated_track, trailing_garbage, ...)';
COMMENT ON COLUMN midi.files.filename_bpm IS 'BPM read from the file name (124bpm, 124_BPM, a lone 40..250 number)';
COMMENT ON COLUMN midi.files.filename_key IS 'Key read from the file name (Am, A min, F#m, Ebmaj; Cmaj7 is a chord, not a key)';
COMMENT ON COLUMN midi.files.tag_ids IS 'Ids of every tag the file carries: its users'' tags (file_tags) and, once analyzed, the tags its facts give (midi.derive_tags)';
COMMENT ON COLUMN midi.files.analyzer_version IS 'Version of the runner analyzer that produced this file''s facts (NULL: never analyzed)';
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
    parser text,
    bpm_source text,
    has_tempo_changes boolean DEFAULT false NOT NULL,
    tempo_map jsonb,
    time_signatures jsonb,
    key_from_signature midi.musical_key,
    key_from_filename midi.musical_key,
    key_estimate midi.musical_key,
    key_estimate_second midi.musical_key,
    key_correlation real,
    key_confidence real,
    key_profile text,
    key_source text,
    pitch_class_histogram double precision[],
    drum_note_count integer DEFAULT 0 NOT NULL,
    track_names text[] DEFAULT '{}'::text[] NOT NULL,
    instrument_names text[] DEFAULT '{}'::text[] NOT NULL,
    copyright text,
    markers text[] DEFAULT '{}'::text[] NOT NULL,
    has_lyrics boolean DEFAULT false NOT NULL,
    CONSTRAINT musical_metadata_avg_velocity_check CHECK (((avg_velocity >= (0)::numeric) AND (avg_velocity <= (127)::numeric))),
    CONSTRAINT musical_metadata_bpm_check CHECK (((bpm >= (1)::numeric) AND (bpm <= (1000)::numeric))),
    CONSTRAINT musical_metadata_bpm_source_check CHECK ((bpm_source = ANY (ARRAY['meta'::text, 'filename'::text, 'default'::text]))),
    CONSTRAINT musical_metadata_check CHECK (((pitch_range_min IS NULL) OR (pitch_range_max IS NULL) OR (pitch_range_min <= pitch_range_max))),
    CONSTRAINT musical_metadata_check1 CHECK (((velocity_min IS NULL) OR (velocity_max IS NULL) OR (velocity_min <= velocity_max))),
    CONSTRAINT musical_metadata_drum_note_count_check CHECK ((drum_note_count >= 0)),
    CONSTRAINT musical_metadata_key_confidence_check CHECK (((key_confidence >= (0)::double precision) AND (key_confidence <= (1)::double precision))),
    CONSTRAINT musical_metadata_key_correlation_check CHECK (((key_correlation >= ('-1'::integer)::double precision) AND (key_correlation <= (1)::double precision))),
    CONSTRAINT musical_metadata_key_source_check CHECK ((key_source = ANY (ARRAY['signature'::text, 'filename'::text, 'estimate'::text]))),
    CONSTRAINT musical_metadata_note_density_check CHECK ((note_density >= (0)::numeric)),
    CONSTRAINT musical_metadata_parser_check CHECK ((parser = ANY (ARRAY['symusic'::text, 'mido'::text]))),
    CONSTRAINT musical_metadata_pitch_class_histogram_check CHECK (((pitch_class_histogram IS NULL) OR ((cardinality(pitch_class_histogram) = 12) AND (array_ndims(pitch_class_histogram) = 1)))),
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
COMMENT ON COLUMN midi.musical_metadata.bpm IS 'The tempo covering the most time (bpm_source meta), else the one the file name states (filename); NULL when neither (bpm_source default: the file plays at MIDI''s implicit 120 but states no tempo)';
COMMENT ON COLUMN midi.musical_metadata.key_signature IS 'The chosen key: key_from_signature, else key_from_filename, else key_estimate (key_source says which)';
COMMENT ON COLUMN midi.musical_metadata.time_signature_numerator IS 'Time signature covering the most time; NULL when the file has no valid time-signature event (not 4/4)';
COMMENT ON COLUMN midi.musical_metadata.bpm_source IS 'meta: a tempo event; filename: no tempo event, the file name states it; default: neither (bpm is NULL)';
COMMENT ON COLUMN midi.musical_metadata.tempo_map IS 'Tempo segments inside the file: [[tick, bpm], ...]';
COMMENT ON COLUMN midi.musical_metadata.time_signatures IS 'Time-signature changes: [[tick, numerator, denominator], ...]';
COMMENT ON COLUMN midi.musical_metadata.key_from_signature IS 'Key of the key-signature events covering the most time; NULL when absent or a lone C major (a sequencer default)';
COMMENT ON COLUMN midi.musical_metadata.key_estimate IS 'Best key by correlating pitch_class_histogram with the key profile key_profile';
COMMENT ON COLUMN midi.musical_metadata.key_confidence IS 'Gap between best and second key correlation, scaled to 0..1: (r1 - r2) / (1 - r2), 0 when r1 <= 0';
COMMENT ON COLUMN midi.musical_metadata.pitch_class_histogram IS 'Sounding seconds per pitch class (C first) of non-drum notes, normalised to sum 1; all zero without pitched notes';
CREATE TABLE midi.ratings (
    file_id bigint NOT NULL,
    rating smallint NOT NULL,
    rated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ratings_rating_check CHECK (((rating >= 1) AND (rating <= 5)))
);
COMMENT ON TABLE midi.ratings IS 'The user''s 1..5 star rating of a file';
CREATE TABLE midi.tags (
    id bigint NOT NULL,
    name text NOT NULL,
    category text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tags_name_check CHECK (((name = lower(btrim(name))) AND (name <> ''::text)))
);
CREATE TABLE midi.track_splits (
    id bigint NOT NULL,
    parent_file_id bigint NOT NULL,
    split_file_id bigint NOT NULL,
    track_number smallint NOT NULL,
    channel smallint,
    track_name text,
    instrument text,
    note_count integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT track_splits_channel_check CHECK (((channel >= 0) AND (channel <= 15))),
    CONSTRAINT track_splits_check CHECK ((split_file_id <> parent_file_id)),
    CONSTRAINT track_splits_note_count_check CHECK ((note_count >= 0)),
    CONSTRAINT track_splits_track_number_check CHECK ((track_number >= 0))
);
COMMENT ON TABLE midi.track_splits IS 'Parts of a song written by midicenter split: the part''s file, its parent and its track (and channel, for format 0)';
COMMENT ON COLUMN midi.track_splits.track_number IS 'Index of the parent''s track the part holds (0 = first MTrk chunk)';
COMMENT ON COLUMN midi.track_splits.channel IS 'The channel (0-15) a part of a format 0 file holds; NULL for a per-track part';
CREATE VIEW midi.catalog AS
 SELECT f.id,
    f.filename,
    f.filepath,
    f.file_size_bytes,
    f.manufacturer,
    f.collection_name,
    f.folder_tags,
    (COALESCE(mm.bpm, f.cached_bpm))::double precision AS bpm,
    (COALESCE(mm.key_signature, f.cached_key))::text AS key_signature,
    mm.time_signature_numerator,
    mm.time_signature_denominator,
    mm.total_notes,
    mm.is_percussive,
    (fc.primary_category)::text AS primary_category,
    (fc.secondary_category)::text AS secondary_category,
    (fav.file_id IS NOT NULL) AS is_favorite,
    r.rating,
    f.duration_seconds,
    f.num_tracks,
    f.format,
    ARRAY( SELECT t.name
           FROM (midi.file_tags ft
             JOIN midi.tags t ON ((t.id = ft.tag_id)))
          WHERE (ft.file_id = f.id)
          ORDER BY t.name) AS tags,
    ARRAY( SELECT (((COALESCE(fi.instrument_name,
                CASE
                    WHEN fi.is_drum THEN 'drum kit'::text
                    ELSE ('program '::text || fi.program)
                END) || ' (ch '::text) || (fi.channel + 1)) || ')'::text)
           FROM midi.file_instruments fi
          WHERE (fi.file_id = f.id)
          ORDER BY fi.channel, fi.program) AS instruments,
    ARRAY( SELECT p.path
           FROM midi.file_paths p
          WHERE (p.file_id = f.id)
          ORDER BY p.path) AS paths,
    encode(f.content_hash, 'hex'::text) AS content_hash,
    f.created_at,
    f.analyzed_at,
    f.parent_file_id,
    ( SELECT ts.track_number
           FROM midi.track_splits ts
          WHERE ((ts.split_file_id = f.id) AND (ts.parent_file_id = f.parent_file_id))
          ORDER BY ts.track_number, ts.channel
         LIMIT 1) AS track_number,
    f.ticks_per_quarter_note,
    f.duration_ticks,
    mm.unique_pitches,
    mm.pitch_range_min,
    mm.pitch_range_max,
    mm.avg_velocity,
    mm.note_density,
    mm.polyphony_max,
    mm.is_monophonic,
    mm.has_chords,
    mm.has_melody
   FROM ((((midi.files f
     LEFT JOIN midi.musical_metadata mm ON ((mm.file_id = f.id)))
     LEFT JOIN midi.file_categories fc ON ((fc.file_id = f.id)))
     LEFT JOIN midi.favorites fav ON ((fav.file_id = f.id)))
     LEFT JOIN midi.ratings r ON ((r.file_id = f.id)));
COMMENT ON VIEW midi.catalog IS 'One row per file: the columns of midi.file_details, then parent_file_id, track_number and further facts';
CREATE FUNCTION midi.catalog_rows(q text DEFAULT NULL::text, bpm_min numeric DEFAULT NULL::numeric, bpm_max numeric DEFAULT NULL::numeric, bpm_halfdouble boolean DEFAULT NULL::boolean, keys midi.musical_key[] DEFAULT NULL::midi.musical_key[], compatible_key midi.musical_key DEFAULT NULL::midi.musical_key, manufacturer text[] DEFAULT NULL::text[], collection text[] DEFAULT NULL::text[], categories midi.file_category[] DEFAULT NULL::midi.file_category[], tags_all text[] DEFAULT NULL::text[], tags_any text[] DEFAULT NULL::text[], time_signature text DEFAULT NULL::text, duration_min numeric DEFAULT NULL::numeric, duration_max numeric DEFAULT NULL::numeric, notes_min integer DEFAULT NULL::integer, notes_max integer DEFAULT NULL::integer, percussive boolean DEFAULT NULL::boolean, favorites_only boolean DEFAULT NULL::boolean, min_rating integer DEFAULT NULL::integer, fuzzy boolean DEFAULT NULL::boolean, ids bigint[] DEFAULT NULL::bigint[], saved text DEFAULT NULL::text, filters jsonb DEFAULT NULL::jsonb) RETURNS SETOF midi.catalog
    LANGUAGE plpgsql
    AS $_$
DECLARE
    a midi._search_args;
BEGIN
    IF saved IS NOT NULL THEN
        filters := midi._saved_filters(saved) || coalesce(filters, '{}'::jsonb);
    END IF;
    a := midi._search_args(midi._filters(filters, ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection, categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min, notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters));
    RETURN QUERY EXECUTE 'SELECT c.* FROM midi.catalog c WHERE c.id IN (SELECT f.id FROM midi.files f WHERE '
                         || midi._search_where(a)
                         || CASE WHEN ids IS NOT NULL THEN ' AND f.id IN (SELECT unnest($2::bigint[]))' ELSE '' END
                         || ') ORDER BY c.id'
        USING a, ids;
END;
$_$;
COMMENT ON FUNCTION midi.catalog_rows(q text, bpm_min numeric, bpm_max numeric, bpm_halfdouble boolean, keys midi.musical_key[], compatible_key midi.musical_key, manufacturer text[], collection text[], categories midi.file_category[], tags_all text[], tags_any text[], time_signature text, duration_min numeric, duration_max numeric, notes_min integer, notes_max integer, percussive boolean, favorites_only boolean, min_rating integer, fuzzy boolean, ids bigint[], saved text, filters jsonb) IS 'Rows of midi.catalog for the files matching the filters (and ids, saved search), by id';
CREATE FUNCTION midi.choose_key(from_signature midi.musical_key, from_filename midi.musical_key, estimate midi.musical_key) RETURNS TABLE(key midi.musical_key, source text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(from_signature, from_filename, estimate, 'UNKNOWN'),
           CASE WHEN from_signature IS NOT NULL THEN 'signature'
                WHEN from_filename IS NOT NULL THEN 'filename'
                WHEN estimate IS NOT NULL THEN 'estimate' END
$$;
COMMENT ON FUNCTION midi.choose_key(from_signature midi.musical_key, from_filename midi.musical_key, estimate midi.musical_key) IS 'Chosen key and its source: signature, else filename, else estimate (UNKNOWN / NULL when none)';
CREATE FUNCTION midi.compatible_keys(k midi.musical_key) RETURNS midi.musical_key[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN ARRAY[k, midi.relative_key(k)] || midi.fifths_neighbours(k) END
$$;
COMMENT ON FUNCTION midi.compatible_keys(k midi.musical_key) IS 'Harmonically compatible keys: same, relative, and one step either way around the circle of fifths';
CREATE FUNCTION midi.default_key_profile() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT p.name FROM midi.key_profiles p WHERE p.is_default
$$;
COMMENT ON FUNCTION midi.default_key_profile() IS 'Name of the key profile analysis uses (the is_default row)';
CREATE FUNCTION midi.defer_indexes(by text) RETURNS TABLE(name text, table_name text)
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO midi.deferred_indexes AS d (name, table_name, definition, comment, deferred_by)
    SELECT x.name, x.table_name, x.definition, x.comment, by FROM midi.deferrable_indexes() x
    ON CONFLICT ON CONSTRAINT deferred_indexes_pkey DO NOTHING;
    RETURN QUERY SELECT d.name, d.table_name FROM midi.deferred_indexes d
                  ORDER BY pg_relation_size(to_regclass('midi.' || quote_ident(d.name))) DESC NULLS LAST, d.name;
END;
$$;
COMMENT ON FUNCTION midi.defer_indexes(by text) IS 'Records the deferrable indexes before a bulk load drops them; returns every index recorded as deferred';
CREATE FUNCTION midi.deferrable_indexes() RETURNS TABLE(name text, table_name text, definition text, comment text)
    LANGUAGE sql STABLE
    AS $_$
    SELECT c.relname::text, t.relname::text, pg_get_indexdef(c.oid), obj_description(c.oid, 'pg_class')
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid
     WHERE c.relnamespace = 'midi'::regnamespace AND i.indisvalid AND NOT i.indisunique AND NOT i.indisprimary
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
       AND obj_description(c.oid, 'pg_class') ~ '\[deferrable\]\s*$'
     ORDER BY 1
$_$;
COMMENT ON FUNCTION midi.deferrable_indexes() IS 'Indexes a bulk load may drop and build again (valid, not unique, no constraint, comment ends with [deferrable])';
CREATE FUNCTION midi.derive_categories(ids bigint[]) RETURNS TABLE(file_id bigint, primary_category midi.file_category, secondary_category midi.file_category, confidence real)
    LANGUAGE sql STABLE
    AS $$
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
COMMENT ON FUNCTION midi.derive_categories(ids bigint[]) IS 'Primary and secondary category and confidence of the given analyzed files, from name words and stored facts';
CREATE FUNCTION midi.derive_tags(ids bigint[]) RETURNS TABLE(file_id bigint, name text, category text, source text)
    LANGUAGE sql STABLE
    AS $$
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
COMMENT ON FUNCTION midi.derive_tags(ids bigint[]) IS 'Tags (name, category, source path|analysis) the catalog derives for the given files';
CREATE FUNCTION midi.duplicates_of(file_id bigint) RETURNS TABLE(path text, is_canonical boolean, first_seen timestamp with time zone, last_seen timestamp with time zone, missing_since timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT p.path::text, p.path = f.filepath, p.first_seen, p.last_seen, p.missing_since
      FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id
     WHERE f.id = duplicates_of.file_id
     ORDER BY p.path = f.filepath DESC, p.path
$$;
COMMENT ON FUNCTION midi.duplicates_of(file_id bigint) IS 'Every path holding the same content as the file (byte-identical copies), canonical first';
CREATE FUNCTION midi.estimate_key(histogram double precision[], profile text DEFAULT NULL::text) RETURNS TABLE(key midi.musical_key, second_key midi.musical_key, correlation double precision, second_correlation double precision, confidence real, key_profile text)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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
COMMENT ON FUNCTION midi.estimate_key(histogram double precision[], profile text) IS 'Best and second key of a 12-bin pitch-class histogram by profile correlation, with confidence (no row when flat)';
CREATE FUNCTION midi.explain_search(q text DEFAULT NULL::text, bpm_min numeric DEFAULT NULL::numeric, bpm_max numeric DEFAULT NULL::numeric, bpm_halfdouble boolean DEFAULT NULL::boolean, keys midi.musical_key[] DEFAULT NULL::midi.musical_key[], compatible_key midi.musical_key DEFAULT NULL::midi.musical_key, manufacturer text[] DEFAULT NULL::text[], collection text[] DEFAULT NULL::text[], categories midi.file_category[] DEFAULT NULL::midi.file_category[], tags_all text[] DEFAULT NULL::text[], tags_any text[] DEFAULT NULL::text[], time_signature text DEFAULT NULL::text, duration_min numeric DEFAULT NULL::numeric, duration_max numeric DEFAULT NULL::numeric, notes_min integer DEFAULT NULL::integer, notes_max integer DEFAULT NULL::integer, percussive boolean DEFAULT NULL::boolean, favorites_only boolean DEFAULT NULL::boolean, min_rating integer DEFAULT NULL::integer, fuzzy boolean DEFAULT NULL::boolean, sort text DEFAULT NULL::text, lim integer DEFAULT 50, after text DEFAULT NULL::text, filters jsonb DEFAULT NULL::jsonb) RETURNS SETOF text
    LANGUAGE plpgsql
    AS $$
DECLARE
    a midi._search_args := midi._search_args(midi._filters(filters, ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection, categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min, notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters), sort, after);
    want integer := least(coalesce(lim, 50), 500);
    plan record;
    ranked boolean;
    sql text[];
BEGIN
    plan := midi._search_plan(a, sort, want);
    a := plan.args;
    ranked := plan.ranked;
    sql := midi._search_sql(a, sort, ranked);
    FOR i IN 1 .. cardinality(sql) LOOP
        RETURN NEXT CASE WHEN cardinality(sql) = 1 AND ranked THEN '-- ranked'
                         ELSE '-- segment ' || (coalesce(a.cur_seg, 1) + i - 1) END;
        RETURN QUERY EXECUTE 'EXPLAIN ' || sql[i] USING a, want;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi.explain_search(q text, bpm_min numeric, bpm_max numeric, bpm_halfdouble boolean, keys midi.musical_key[], compatible_key midi.musical_key, manufacturer text[], collection text[], categories midi.file_category[], tags_all text[], tags_any text[], time_signature text, duration_min numeric, duration_max numeric, notes_min integer, notes_max integer, percussive boolean, favorites_only boolean, min_rating integer, fuzzy boolean, sort text, lim integer, after text, filters jsonb) IS 'EXPLAIN of the queries midi.search runs for the same arguments, one block per segment';
CREATE FUNCTION midi.export_fields() RETURNS TABLE(field text, about text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT l.field, l.about FROM midi._export_field_list() l
$$;
COMMENT ON FUNCTION midi.export_fields() IS 'The fields of export name templates ({bpm}_{key}_{name}) and what each renders';
CREATE FUNCTION midi.export_rows(q text DEFAULT NULL::text, bpm_min numeric DEFAULT NULL::numeric, bpm_max numeric DEFAULT NULL::numeric, bpm_halfdouble boolean DEFAULT NULL::boolean, keys midi.musical_key[] DEFAULT NULL::midi.musical_key[], compatible_key midi.musical_key DEFAULT NULL::midi.musical_key, manufacturer text[] DEFAULT NULL::text[], collection text[] DEFAULT NULL::text[], categories midi.file_category[] DEFAULT NULL::midi.file_category[], tags_all text[] DEFAULT NULL::text[], tags_any text[] DEFAULT NULL::text[], time_signature text DEFAULT NULL::text, duration_min numeric DEFAULT NULL::numeric, duration_max numeric DEFAULT NULL::numeric, notes_min integer DEFAULT NULL::integer, notes_max integer DEFAULT NULL::integer, percussive boolean DEFAULT NULL::boolean, favorites_only boolean DEFAULT NULL::boolean, min_rating integer DEFAULT NULL::integer, fuzzy boolean DEFAULT NULL::boolean, ids bigint[] DEFAULT NULL::bigint[], saved text DEFAULT NULL::text, template text DEFAULT NULL::text, keep_tree boolean DEFAULT false, filters jsonb DEFAULT NULL::jsonb) RETURNS TABLE(id bigint, dest text, content_hash bytea, file_size_bytes bigint, source_paths text[], source_bytes bytea[], total bigint)
    LANGUAGE plpgsql
    AS $$
DECLARE
    a midi._search_args;
    t record;
BEGIN
    IF saved IS NOT NULL THEN
        filters := midi._saved_filters(saved) || coalesce(filters, '{}'::jsonb);
    END IF;
    a := midi._search_args(midi._filters(filters, ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection, categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min, notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters));
    t := midi.export_template(template);
    RETURN QUERY EXECUTE midi._export_sql(a, t.fields, ids IS NOT NULL) USING a, ids, t.literals, coalesce(keep_tree, false);
END;
$$;
COMMENT ON FUNCTION midi.export_rows(q text, bpm_min numeric, bpm_max numeric, bpm_halfdouble boolean, keys midi.musical_key[], compatible_key midi.musical_key, manufacturer text[], collection text[], categories midi.file_category[], tags_all text[], tags_any text[], time_signature text, duration_min numeric, duration_max numeric, notes_min integer, notes_max integer, percussive boolean, favorites_only boolean, min_rating integer, fuzzy boolean, ids bigint[], saved text, template text, keep_tree boolean, filters jsonb) IS 'Files an export writes (filters, ids, saved search): id, dest name from the template, content_hash, size, source paths, total';
CREATE FUNCTION midi.export_safe_name(name text, max_bytes integer DEFAULT 255) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
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
COMMENT ON FUNCTION midi.export_safe_name(name text, max_bytes integer) IS 'A text as one safe file or folder name: unsafe characters replaced, no leading dot, no device name, cut to max_bytes';
CREATE FUNCTION midi.export_template(template text, OUT fields text[], OUT literals text[]) RETURNS record
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
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
COMMENT ON FUNCTION midi.export_template(template text, OUT fields text[], OUT literals text[]) IS 'A name template parsed into its fields and the literal texts around them; an unknown field is an error';
CREATE FUNCTION midi.facets(q text DEFAULT NULL::text, bpm_min numeric DEFAULT NULL::numeric, bpm_max numeric DEFAULT NULL::numeric, bpm_halfdouble boolean DEFAULT NULL::boolean, keys midi.musical_key[] DEFAULT NULL::midi.musical_key[], compatible_key midi.musical_key DEFAULT NULL::midi.musical_key, manufacturer text[] DEFAULT NULL::text[], collection text[] DEFAULT NULL::text[], categories midi.file_category[] DEFAULT NULL::midi.file_category[], tags_all text[] DEFAULT NULL::text[], tags_any text[] DEFAULT NULL::text[], time_signature text DEFAULT NULL::text, duration_min numeric DEFAULT NULL::numeric, duration_max numeric DEFAULT NULL::numeric, notes_min integer DEFAULT NULL::integer, notes_max integer DEFAULT NULL::integer, percussive boolean DEFAULT NULL::boolean, favorites_only boolean DEFAULT NULL::boolean, min_rating integer DEFAULT NULL::integer, fuzzy boolean DEFAULT NULL::boolean, facet_limit integer DEFAULT 20, filters jsonb DEFAULT NULL::jsonb) RETURNS TABLE(facet text, value text, files bigint, exact boolean)
    LANGUAGE sql
    AS $$
    SELECT x.facet, x.value, x.files, x.exact FROM midi._facets(midi._search_args(midi._filters(filters, ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection, categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min, notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters)), facet_limit) AS x
     ORDER BY array_position(ARRAY['manufacturer', 'collection', 'key', 'category', 'bpm', 'tag'], x.facet),
              x.files DESC, x.value
$$;
COMMENT ON FUNCTION midi.facets(q text, bpm_min numeric, bpm_max numeric, bpm_halfdouble boolean, keys midi.musical_key[], compatible_key midi.musical_key, manufacturer text[], collection text[], categories midi.file_category[], tags_all text[], tags_any text[], time_signature text, duration_min numeric, duration_max numeric, notes_min integer, notes_max integer, percussive boolean, favorites_only boolean, min_rating integer, fuzzy boolean, facet_limit integer, filters jsonb) IS 'Facet counts (manufacturer, collection, key, category, bpm bucket, tag) under the filters: OR within a facet, AND across; exact = false when sampled';
CREATE FUNCTION midi.favorite_add(file_id bigint) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    n integer;
BEGIN
    PERFORM midi._require_file(file_id);
    INSERT INTO midi.favorites (file_id) VALUES (favorite_add.file_id) ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END;
$$;
COMMENT ON FUNCTION midi.favorite_add(file_id bigint) IS 'Marks a file as favorite; true if it was not one before';
CREATE FUNCTION midi.favorite_remove(file_id bigint) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    n integer;
BEGIN
    PERFORM midi._require_file(file_id);
    DELETE FROM midi.favorites fv WHERE fv.file_id = favorite_remove.file_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END;
$$;
COMMENT ON FUNCTION midi.favorite_remove(file_id bigint) IS 'Removes a file from the favorites; true if it was one';
CREATE FUNCTION midi.favorite_toggle(file_id bigint) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF midi.favorite_remove(file_id) THEN
        RETURN false;
    END IF;
    PERFORM midi.favorite_add(file_id);
    RETURN true;
END;
$$;
COMMENT ON FUNCTION midi.favorite_toggle(file_id bigint) IS 'Flips a file''s favorite mark; returns true if it is now a favorite';
CREATE FUNCTION midi.fifths_neighbours(k midi.musical_key) RETURNS midi.musical_key[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN
        ARRAY[midi.key_name(midi.key_pitch_class(k) + 7, midi.key_is_minor(k)),
              midi.key_name(midi.key_pitch_class(k) + 5, midi.key_is_minor(k))] END
$$;
COMMENT ON FUNCTION midi.fifths_neighbours(k midi.musical_key) IS 'Dominant and subdominant in the same mode (one step each way around the circle of fifths)';
CREATE FUNCTION midi.file_details(file_id bigint) RETURNS TABLE(id bigint, filename text, filepath text, file_size_bytes bigint, manufacturer text, collection_name text, folder_tags text[], bpm double precision, key_signature text, time_signature_numerator smallint, time_signature_denominator smallint, total_notes integer, is_percussive boolean, primary_category text, secondary_category text, is_favorite boolean, rating smallint, duration_seconds numeric, num_tracks smallint, format smallint, tags text[], instruments text[], paths text[], content_hash text, created_at timestamp with time zone, analyzed_at timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT f.id, f.filename, f.filepath::text, f.file_size_bytes, f.manufacturer, f.collection_name, f.folder_tags,
           coalesce(mm.bpm, f.cached_bpm)::float8, coalesce(mm.key_signature, f.cached_key)::text,
           mm.time_signature_numerator, mm.time_signature_denominator, mm.total_notes, mm.is_percussive,
           fc.primary_category::text, fc.secondary_category::text, fav.file_id IS NOT NULL, r.rating,
           f.duration_seconds, f.num_tracks, f.format,
           -- every tag it carries: its users' and the ones its facts give (computed into tag_ids)
           ARRAY(SELECT t.name FROM unnest(f.tag_ids) AS x(tag_id) JOIN midi.tags t ON t.id = x.tag_id ORDER BY t.name),
           -- a channel or program analysis could not tell is NULL and printed as nothing / 'no program set'
           ARRAY(SELECT coalesce(fi.instrument_name, CASE WHEN fi.is_drum THEN 'drum kit' END, 'program ' || fi.program,
                                 'no program set')
                        || coalesce(' (ch ' || fi.channel + 1 || ')', '')
                   FROM midi.file_instruments fi WHERE fi.file_id = f.id
                  ORDER BY fi.channel, fi.program, fi.is_drum, fi.note_count DESC),
           ARRAY(SELECT p.path::text FROM midi.file_paths p WHERE p.file_id = f.id ORDER BY p.path),
           encode(f.content_hash, 'hex'), f.created_at, f.analyzed_at
      FROM midi.files f
      LEFT JOIN midi.musical_metadata mm ON mm.file_id = f.id
      LEFT JOIN midi.file_categories fc ON fc.file_id = f.id
      LEFT JOIN midi.favorites fav ON fav.file_id = f.id
      LEFT JOIN midi.ratings r ON r.file_id = f.id
     WHERE f.id = file_details.file_id
$$;
COMMENT ON FUNCTION midi.file_details(file_id bigint) IS 'One file with metadata, category, favorite, rating, tags, instruments and all its paths';
CREATE FUNCTION midi.file_essential(file_id bigint) RETURNS TABLE(id bigint, filename text, filepath text, file_size_bytes bigint)
    LANGUAGE sql STABLE
    AS $$
    SELECT f.id, f.filename, f.filepath::text, f.file_size_bytes FROM midi.files f WHERE f.id = file_id
$$;
COMMENT ON FUNCTION midi.file_essential(file_id bigint) IS 'id, filename, filepath, file_size_bytes of one file';
CREATE FUNCTION midi.file_for_analysis(ids bigint[]) RETURNS TABLE(id bigint, filepath text, filename text, num_tracks smallint, duration_seconds numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT f.id, f.filepath::text, f.filename, f.num_tracks, f.duration_seconds
      FROM unnest(ids) WITH ORDINALITY AS u(id, ord)
      JOIN midi.files f ON f.id = u.id
     ORDER BY u.ord
$$;
COMMENT ON FUNCTION midi.file_for_analysis(ids bigint[]) IS 'id, filepath, filename, num_tracks, duration_seconds of files, in the order asked';
CREATE FUNCTION midi.file_search_vector(filename text, manufacturer text, collection_name text, folder_tags text[]) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT midi.name_vector(filename) || midi.place_vector(manufacturer, collection_name, folder_tags)
$$;
COMMENT ON FUNCTION midi.file_search_vector(filename text, manufacturer text, collection_name text, folder_tags text[]) IS 'Weighted tsvector of a file: filename (A), manufacturer + collection (B), folder tags (C)';
CREATE FUNCTION midi.file_sources(file_id bigint) RETURNS TABLE(path text, path_bytes bytea, is_canonical boolean, missing_since timestamp with time zone, content_hash text)
    LANGUAGE sql STABLE
    AS $$
    SELECT p.path::text, p.path_bytes, p.path = f.filepath, p.missing_since,
           encode(f.content_hash, 'hex')
      FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id
     WHERE f.id = file_sources.file_id
     ORDER BY p.path = f.filepath DESC, p.missing_since IS NOT NULL, p.path, p.path_bytes
$$;
COMMENT ON FUNCTION midi.file_sources(file_id bigint) IS 'Where a file''s bytes can be read (canonical first, then present paths; exact bytes of odd names) and the hash they must have';
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
CREATE FUNCTION midi.half_double_tempo(bpm numeric) RETURNS numeric[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT ARRAY[round(bpm / 2, 2), bpm, bpm * 2]
$$;
COMMENT ON FUNCTION midi.half_double_tempo(bpm numeric) IS 'A tempo at half, normal and double time';
CREATE FUNCTION midi.import_alive(batch bigint) RETURNS boolean
    LANGUAGE sql STABLE STRICT
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_locks l, midi._import_lock(batch) k
                    WHERE l.locktype = 'advisory' AND l.granted
                      AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
                      AND l.classid = k.class_key::oid AND l.objid = k.object_key::oid AND l.objsubid = 2)
$$;
COMMENT ON FUNCTION midi.import_alive(batch bigint) IS 'Whether the import that opened a batch still holds its advisory lock (its process is alive)';
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
    CONSTRAINT import_batches_status_check CHECK ((status = ANY (ARRAY['running'::text, 'done'::text, 'failed'::text, 'interrupted'::text])))
);
COMMENT ON COLUMN midi.import_batches.status IS 'running (its import holds an advisory lock on it), done, failed, or interrupted (its process went away)';
CREATE FUNCTION midi.import_finish(batch bigint, other_files bigint DEFAULT 0, prune boolean DEFAULT false) RETURNS midi.import_batches
    LANGUAGE plpgsql
    AS $_$
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
$_$;
COMMENT ON FUNCTION midi.import_finish(batch bigint, other_files bigint, prune boolean) IS 'Closes an import batch (optionally marking unseen paths under its roots missing); returns the batch row';
CREATE FUNCTION midi.import_hold(batch bigint) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    k record := midi._import_lock(batch);
BEGIN
    IF NOT pg_try_advisory_lock(k.class_key, k.object_key) THEN
        RAISE EXCEPTION 'import batch % is held by another session', batch USING ERRCODE = 'lock_not_available';
    END IF;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION midi.import_hold(batch bigint) IS 'Holds the advisory lock of an import batch for this session''s lifetime (proof that its import is alive)';
CREATE FUNCTION midi.import_mark_interrupted() RETURNS SETOF bigint
    LANGUAGE sql
    AS $$
    UPDATE midi.import_batches b SET status = 'interrupted'
     WHERE b.status = 'running' AND NOT midi.import_alive(b.id)
    RETURNING b.id
$$;
COMMENT ON FUNCTION midi.import_mark_interrupted() IS 'Marks running import batches whose process is gone (no advisory lock held) as interrupted; returns their ids';
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
$_$;
COMMENT ON FUNCTION midi.import_merge(batch bigint, chunk integer) IS 'Merges one staged chunk into files, file_paths and import_errors; returns (files_seen, files_new, duplicates, errors)';
CREATE FUNCTION midi.import_refusals() RETURNS TABLE(test text, fails text, message text)
    LANGUAGE sql STABLE
    AS $$
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
COMMENT ON FUNCTION midi.import_refusals() IS 'The tests (from the catalog: files CHECKs, NOT NULLs, type ranges) a staged row must pass to become a files row';
CREATE FUNCTION midi.key_is_minor(k midi.musical_key) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN array_position(enum_range(NULL::midi.musical_key), k) > 12 END
$$;
COMMENT ON FUNCTION midi.key_is_minor(k midi.musical_key) IS 'Whether a key is minor (NULL for UNKNOWN)';
CREATE FUNCTION midi.key_name(pitch_class integer, minor boolean) RETURNS midi.musical_key
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT ((ARRAY['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'])[((pitch_class % 12) + 12) % 12 + 1]
            || CASE WHEN minor THEN 'm' ELSE '' END)::midi.musical_key
$$;
COMMENT ON FUNCTION midi.key_name(pitch_class integer, minor boolean) IS 'Canonical key of a pitch class (0=C..11=B) and mode: key_name(8, true) = Abm';
CREATE FUNCTION midi.key_pitch_class(k midi.musical_key) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN (array_position(enum_range(NULL::midi.musical_key), k) - 1) % 12 END
$$;
COMMENT ON FUNCTION midi.key_pitch_class(k midi.musical_key) IS 'Pitch class of a key''s tonic: C=0 .. B=11 (NULL for UNKNOWN)';
CREATE FUNCTION midi.key_words(k midi.musical_key) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN k = 'UNKNOWN' THEN NULL
                WHEN right(k::text, 1) = 'm' THEN lower(left(k::text, -1)) || ' minor'
                ELSE lower(k::text) || ' major' END
$$;
COMMENT ON FUNCTION midi.key_words(k midi.musical_key) IS 'A key in words, lower case: Ebm -> eb minor (NULL for UNKNOWN)';
CREATE FUNCTION midi.load_tracks(ids bigint[]) RETURNS TABLE(id bigint, filepath text, filename text)
    LANGUAGE sql STABLE
    AS $$
    SELECT f.id, f.filepath::text, f.filename
      FROM unnest(ids) WITH ORDINALITY AS u(id, ord)
      JOIN midi.files f ON f.id = u.id
     ORDER BY u.ord
$$;
COMMENT ON FUNCTION midi.load_tracks(ids bigint[]) IS 'id, filepath, filename of the given files, in the order asked';
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
CREATE FUNCTION midi.name_tsvector(filename text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN to_tsvector('midi.names'::regconfig, midi.name_words(filename));
COMMENT ON FUNCTION midi.name_tsvector(filename text) IS 'Words of a file name (midi.name_words, as the weight-A part of search_vector, unweighted); indexed by idx_files_name_words';
CREATE FUNCTION midi.name_vector(filename text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT setweight(to_tsvector('midi.names', coalesce(midi.name_words(filename), '')), 'A')
$$;
COMMENT ON FUNCTION midi.name_vector(filename text) IS 'File-name words of the search document, weight A';
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
$_$;
COMMENT ON FUNCTION midi.parse_folder(dir text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[]) IS 'Manufacturer (1st folder), collection (2nd) and folder tags (words of deeper folders) of a relative folder path';
CREATE FUNCTION midi.parse_path(rel text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[], OUT filename text) RETURNS record
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
    SELECT pf.manufacturer, pf.collection_name, pf.folder_tags, midi.short_label(fname)
      FROM (SELECT substring(rel FROM '[^/!]*$') AS fname) f,
           LATERAL midi.parse_folder(left(rel, length(rel) - length(f.fname))) pf
$_$;
COMMENT ON FUNCTION midi.parse_path(rel text, OUT manufacturer text, OUT collection_name text, OUT folder_tags text[], OUT filename text) IS 'Manufacturer, collection, folder tags (see parse_folder) and file name of a path relative to the import root';
CREATE FUNCTION midi.parse_query(q text) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $_$
DECLARE
    tsq tsquery;
BEGIN
    q := midi._clip_query(q);
    IF q IS NULL OR q !~ '[[:alnum:]]' THEN
        RETURN NULL;
    END IF;
    tsq := websearch_to_tsquery('midi.names', q);
    IF numnode(tsq) = 0 THEN
        RETURN NULL;
    END IF;
    -- prefix only for a bare last word: not a negated word, not the end of a closed phrase, not "or"
    IF q ~ '[[:alnum:]]$' AND q !~ '(^|\s)-[^\s]*$' AND q !~* '(^|\s)or$'
       AND (length(q) - length(replace(q, '"', ''))) % 2 = 0 THEN
        tsq := regexp_replace(tsq::text, $re$'((?:[^']|'')*)'(\s*\)*)$$re$, $r$'\1':*\2$r$)::tsquery;
    END IF;
    RETURN tsq;
END;
$_$;
COMMENT ON FUNCTION midi.parse_query(q text) IS 'Search box text to tsquery: websearch syntax, midi.names words, prefix match on the last word; NULL if empty';
CREATE FUNCTION midi.path_digest(path text, path_bytes bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN path_bytes IS NULL AND octet_length(path) <= 2048 THEN '\x'::bytea
                ELSE sha256(coalesce(path_bytes, decode(replace(path, '\', '\\'), 'escape'))) END
$$;
COMMENT ON FUNCTION midi.path_digest(path text, path_bytes bytea) IS 'Empty for a valid UTF-8 path up to 2,048 bytes, else the SHA-256 of the location''s exact bytes: the second column of the path unique keys';
CREATE FUNCTION midi.path_head(path text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN octet_length(path) <= 2048 THEN path ELSE left(path, 512) END
$$;
COMMENT ON FUNCTION midi.path_head(path text) IS 'A path up to 2,048 bytes, else its first 512 characters: the leading, range-searchable column of the path unique keys';
CREATE FUNCTION midi.place_vector(manufacturer text, collection_name text, folder_tags text[]) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT setweight(to_tsvector('midi.names',
               coalesce(midi.name_words(manufacturer), '') || ' ' || coalesce(midi.name_words(collection_name), '')), 'B')
        || setweight(to_tsvector('midi.names', coalesce(midi.name_words(array_to_string(folder_tags, ' ')), '')), 'C')
$$;
COMMENT ON FUNCTION midi.place_vector(manufacturer text, collection_name text, folder_tags text[]) IS 'Manufacturer + collection (weight B) and folder tags (weight C) of the search document';
CREATE TABLE midi.profile_runs (
    id bigint NOT NULL,
    taken_at timestamp with time zone DEFAULT now() NOT NULL,
    midicenter_version text NOT NULL,
    health_score smallint NOT NULL,
    files bigint,
    figures jsonb NOT NULL,
    CONSTRAINT profile_runs_figures_check CHECK ((jsonb_typeof(figures) = 'object'::text)),
    CONSTRAINT profile_runs_files_check CHECK ((files >= 0)),
    CONSTRAINT profile_runs_health_score_check CHECK (((health_score >= 0) AND (health_score <= 100)))
);
COMMENT ON TABLE midi.profile_runs IS 'One row per `midicenter profile --record`: the report''s figures (jsonb), newest last; pruned by age';
CREATE FUNCTION midi.profile_history(lim integer DEFAULT 30) RETURNS SETOF midi.profile_runs
    LANGUAGE sql STABLE
    AS $$
    SELECT * FROM midi.profile_runs ORDER BY id DESC LIMIT greatest(coalesce(lim, 30), 0)
$$;
COMMENT ON FUNCTION midi.profile_history(lim integer) IS 'The newest recorded profile runs first (at most lim)';
CREATE FUNCTION midi.profile_record(figures jsonb, runner_version text, health_score integer, files bigint, keep_days integer DEFAULT 90) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    new_id bigint;
BEGIN
    IF keep_days IS NULL OR keep_days < 1 THEN
        RAISE EXCEPTION 'keep_days must be at least 1, not %', keep_days USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO midi.profile_runs (midicenter_version, health_score, files, figures)
    VALUES (runner_version, health_score, files, figures)
    RETURNING id INTO new_id;
    DELETE FROM midi.profile_runs r WHERE r.taken_at < now() - make_interval(days => keep_days);
    RETURN new_id;
END;
$$;
COMMENT ON FUNCTION midi.profile_record(figures jsonb, runner_version text, health_score integer, files bigint, keep_days integer) IS 'Records one profile report''s figures; prunes recorded runs older than keep_days; returns the new id';
CREATE FUNCTION midi.rate(file_id bigint, rating integer) RETURNS smallint
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM midi._require_file(file_id);
    IF coalesce(rating, 0) = 0 THEN
        DELETE FROM midi.ratings r WHERE r.file_id = rate.file_id;
        RETURN NULL;
    END IF;
    IF rating NOT BETWEEN 1 AND 5 THEN
        RAISE EXCEPTION 'rating must be 1..5 (0 clears), not %', rating USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO midi.ratings AS r (file_id, rating) VALUES (rate.file_id, rate.rating)
    ON CONFLICT ON CONSTRAINT ratings_pkey DO UPDATE SET rating = EXCLUDED.rating, rated_at = now()
        WHERE r.rating IS DISTINCT FROM EXCLUDED.rating;
    RETURN rating::smallint;
END;
$$;
COMMENT ON FUNCTION midi.rate(file_id bigint, rating integer) IS 'Sets a file''s 1..5 rating (NULL or 0 clears); returns the rating';
CREATE FUNCTION midi.redetect_keys(profile text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi.redetect_keys(profile text) IS 'Makes a key profile the default and re-derives every key from the stored histograms; returns files whose key changed';
CREATE FUNCTION midi.refresh_views() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.library_stats;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.manufacturer_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.collection_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.key_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.category_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.bpm_bucket_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.tag_counts;
    -- the word statistics of the search strategy, re-sampled when the library changed by a tenth
    PERFORM midi._search_words_refresh();
    RETURN 7;
END;
$$;
COMMENT ON FUNCTION midi.refresh_views() IS 'Refreshes library_stats and the facet views (manufacturer, collection, key, category, bpm bucket, tag) concurrently, and the search word statistics when due';
CREATE FUNCTION midi.relabel(ids bigint[] DEFAULT NULL::bigint[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi.relabel(ids bigint[]) IS 'Re-derives categories and the computed tags of the given files (all analyzed files when NULL)';
CREATE FUNCTION midi.relative_key(k midi.musical_key) RETURNS midi.musical_key
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN midi.key_is_minor(k) THEN midi.key_name(midi.key_pitch_class(k) + 3, false)
                ELSE midi.key_name(midi.key_pitch_class(k) + 9, true) END
$$;
COMMENT ON FUNCTION midi.relative_key(k midi.musical_key) IS 'Relative key: C <-> Am (NULL for UNKNOWN)';
CREATE FUNCTION midi.restore_index(index_name text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    d midi.deferred_indexes;
    valid boolean;
BEGIN
    SELECT * INTO d FROM midi.deferred_indexes x WHERE x.name = index_name FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 'busy';
    END IF;
    SELECT i.indisvalid INTO valid FROM pg_index i WHERE i.indexrelid = to_regclass('midi.' || quote_ident(d.name));
    IF valid THEN
        DELETE FROM midi.deferred_indexes x WHERE x.name = d.name;
        RETURN 'present';
    ELSIF valid IS NOT NULL THEN
        EXECUTE format('DROP INDEX midi.%I', d.name);
    END IF;
    -- pg_get_indexdef of the index when it was deferred; the table is writable by its owner only (90_grants)
    EXECUTE d.definition;
    EXECUTE format('COMMENT ON INDEX midi.%I IS %L', d.name, d.comment);
    DELETE FROM midi.deferred_indexes x WHERE x.name = d.name;
    RETURN 'built';
END;
$$;
COMMENT ON FUNCTION midi.restore_index(index_name text) IS 'Builds one deferred index again from its recorded definition (or keeps it when present); returns present, built or busy';
CREATE FUNCTION midi.saved_search_delete(name text) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM midi.saved_searches s WHERE s.name = btrim(saved_search_delete.name);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END;
$$;
COMMENT ON FUNCTION midi.saved_search_delete(name text) IS 'Deletes a saved search; true if it existed';
CREATE FUNCTION midi.saved_search_list() RETURNS TABLE(name text, filters jsonb, created_at timestamp with time zone, updated_at timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT s.name, s.filters, s.created_at, s.updated_at FROM midi.saved_searches s ORDER BY s.name
$$;
COMMENT ON FUNCTION midi.saved_search_list() IS 'All saved searches with their arguments, by name';
CREATE FUNCTION midi.saved_search_run(name text, lim integer DEFAULT 50, after text DEFAULT NULL::text) RETURNS SETOF midi.search_hit
    LANGUAGE plpgsql
    AS $$  -- VOLATILE like midi.search (EXPLAIN estimates); reads only
DECLARE
    flt jsonb;
BEGIN
    SELECT s.filters INTO flt FROM midi.saved_searches s WHERE s.name = btrim(saved_search_run.name);
    IF flt IS NULL THEN
        RAISE EXCEPTION 'no saved search named %', name USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY SELECT * FROM midi._search(
        midi._search_args(midi._filters(flt, NULL, '{sort}'), flt ->> 'sort', after),
        flt ->> 'sort', lim);
END;
$$;
COMMENT ON FUNCTION midi.saved_search_run(name text, lim integer, after text) IS 'One page of a saved search (as midi.search returns it)';
CREATE FUNCTION midi.saved_search_save(name text, filters jsonb) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    sid bigint;
BEGIN
    PERFORM midi._search_args(midi._filters(coalesce(filters, 'null'), NULL, '{sort}'), filters ->> 'sort');
    INSERT INTO midi.saved_searches AS s (name, filters) VALUES (btrim(saved_search_save.name), filters)
    ON CONFLICT ON CONSTRAINT saved_searches_name_key
        DO UPDATE SET filters = EXCLUDED.filters, updated_at = now()
    RETURNING s.id INTO sid;
    RETURN sid;
END;
$$;
COMMENT ON FUNCTION midi.saved_search_save(name text, filters jsonb) IS 'Saves or replaces a named search (JSON object of midi.search arguments); returns its id';
CREATE FUNCTION midi.search(q text DEFAULT NULL::text, bpm_min numeric DEFAULT NULL::numeric, bpm_max numeric DEFAULT NULL::numeric, bpm_halfdouble boolean DEFAULT NULL::boolean, keys midi.musical_key[] DEFAULT NULL::midi.musical_key[], compatible_key midi.musical_key DEFAULT NULL::midi.musical_key, manufacturer text[] DEFAULT NULL::text[], collection text[] DEFAULT NULL::text[], categories midi.file_category[] DEFAULT NULL::midi.file_category[], tags_all text[] DEFAULT NULL::text[], tags_any text[] DEFAULT NULL::text[], time_signature text DEFAULT NULL::text, duration_min numeric DEFAULT NULL::numeric, duration_max numeric DEFAULT NULL::numeric, notes_min integer DEFAULT NULL::integer, notes_max integer DEFAULT NULL::integer, percussive boolean DEFAULT NULL::boolean, favorites_only boolean DEFAULT NULL::boolean, min_rating integer DEFAULT NULL::integer, fuzzy boolean DEFAULT NULL::boolean, sort text DEFAULT NULL::text, lim integer DEFAULT 50, after text DEFAULT NULL::text, filters jsonb DEFAULT NULL::jsonb) RETURNS SETOF midi.search_hit
    LANGUAGE sql
    AS $$
    SELECT * FROM midi._search(midi._search_args(midi._filters(filters, ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection, categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min, notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters), sort, after), sort, lim)
$$;
COMMENT ON FUNCTION midi.search(q text, bpm_min numeric, bpm_max numeric, bpm_halfdouble boolean, keys midi.musical_key[], compatible_key midi.musical_key, manufacturer text[], collection text[], categories midi.file_category[], tags_all text[], tags_any text[], time_signature text, duration_min numeric, duration_max numeric, notes_min integer, notes_max integer, percussive boolean, favorites_only boolean, min_rating integer, fuzzy boolean, sort text, lim integer, after text, filters jsonb) IS 'One page of matching files (id, filename, filepath, manufacturer, collection, bpm, key, category, duration, is_favorite, rank, cursor); keyset paging with after => cursor';
CREATE FUNCTION midi.search_count(q text DEFAULT NULL::text, bpm_min numeric DEFAULT NULL::numeric, bpm_max numeric DEFAULT NULL::numeric, bpm_halfdouble boolean DEFAULT NULL::boolean, keys midi.musical_key[] DEFAULT NULL::midi.musical_key[], compatible_key midi.musical_key DEFAULT NULL::midi.musical_key, manufacturer text[] DEFAULT NULL::text[], collection text[] DEFAULT NULL::text[], categories midi.file_category[] DEFAULT NULL::midi.file_category[], tags_all text[] DEFAULT NULL::text[], tags_any text[] DEFAULT NULL::text[], time_signature text DEFAULT NULL::text, duration_min numeric DEFAULT NULL::numeric, duration_max numeric DEFAULT NULL::numeric, notes_min integer DEFAULT NULL::integer, notes_max integer DEFAULT NULL::integer, percussive boolean DEFAULT NULL::boolean, favorites_only boolean DEFAULT NULL::boolean, min_rating integer DEFAULT NULL::integer, fuzzy boolean DEFAULT NULL::boolean, cap integer DEFAULT 5000, filters jsonb DEFAULT NULL::jsonb) RETURNS TABLE(files bigint, exact boolean)
    LANGUAGE sql
    AS $$
    SELECT * FROM midi._search_count(midi._search_args(midi._filters(filters, ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection, categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min, notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters)), cap)
$$;
COMMENT ON FUNCTION midi.search_count(q text, bpm_min numeric, bpm_max numeric, bpm_halfdouble boolean, keys midi.musical_key[], compatible_key midi.musical_key, manufacturer text[], collection text[], categories midi.file_category[], tags_all text[], tags_any text[], time_signature text, duration_min numeric, duration_max numeric, notes_min integer, notes_max integer, percussive boolean, favorites_only boolean, min_rating integer, fuzzy boolean, cap integer, filters jsonb) IS 'Number of matching files: exact up to cap (default 5000), else an estimate with exact = false';
CREATE FUNCTION midi.search_strategy(q text DEFAULT NULL::text, bpm_min numeric DEFAULT NULL::numeric, bpm_max numeric DEFAULT NULL::numeric, bpm_halfdouble boolean DEFAULT NULL::boolean, keys midi.musical_key[] DEFAULT NULL::midi.musical_key[], compatible_key midi.musical_key DEFAULT NULL::midi.musical_key, manufacturer text[] DEFAULT NULL::text[], collection text[] DEFAULT NULL::text[], categories midi.file_category[] DEFAULT NULL::midi.file_category[], tags_all text[] DEFAULT NULL::text[], tags_any text[] DEFAULT NULL::text[], time_signature text DEFAULT NULL::text, duration_min numeric DEFAULT NULL::numeric, duration_max numeric DEFAULT NULL::numeric, notes_min integer DEFAULT NULL::integer, notes_max integer DEFAULT NULL::integer, percussive boolean DEFAULT NULL::boolean, favorites_only boolean DEFAULT NULL::boolean, min_rating integer DEFAULT NULL::integer, fuzzy boolean DEFAULT NULL::boolean, sort text DEFAULT NULL::text, lim integer DEFAULT 50, after text DEFAULT NULL::text, filters jsonb DEFAULT NULL::jsonb) RETURNS TABLE(segment integer, strategy text, index_name text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    -- the same choices midi._search makes: the text query through its index or as a filter, ranked or not
    plan record := midi._search_plan(midi._search_args(midi._filters(filters, ROW(q, bpm_min, bpm_max, bpm_halfdouble, keys, compatible_key, manufacturer, collection, categories, tags_all, tags_any, time_signature, duration_min, duration_max, notes_min, notes_max, percussive, favorites_only, min_rating, fuzzy)::midi.search_filters), sort, after), sort, least(coalesce(lim, 50), 500));
    a midi._search_args := plan.args;
    s text := midi._search_sort(a, sort);
    ranked boolean := plan.ranked;
    cols text[] := '{}';        -- the filters an index can look up (text and fuzzy apart), and how
    hows text[] := '{}';
    fixed text[] := '{}';       -- columns a one-value filter fixes
    text_cols text[] := '{}';   -- the text query, when the engine hands it to an index
    text_hows text[] := '{}';
    seg_names text[];
    seg_orders text[];
    first integer;
    names text[];
BEGIN
    IF a.key_set IS NOT NULL THEN
        cols := cols || 'cached_key'::text; hows := hows || 'btree'::text;
        IF cardinality(a.key_set) = 1 THEN fixed := fixed || 'cached_key'::text; END IF;
    END IF;
    IF (a.f).manufacturer IS NOT NULL THEN
        cols := cols || 'manufacturer'::text; hows := hows || 'btree'::text;
        IF cardinality((a.f).manufacturer) = 1 THEN fixed := fixed || 'manufacturer'::text; END IF;
    END IF;
    IF (a.f).collection IS NOT NULL THEN
        cols := cols || 'collection_name'::text; hows := hows || 'btree'::text;
        IF cardinality((a.f).collection) = 1 THEN fixed := fixed || 'collection_name'::text; END IF;
    END IF;
    IF (a.f).categories IS NOT NULL THEN
        cols := cols || 'cached_category'::text; hows := hows || 'btree'::text;
        IF cardinality((a.f).categories) = 1 THEN fixed := fixed || 'cached_category'::text; END IF;
    END IF;
    IF a.bpm_ranges IS NOT NULL THEN
        cols := cols || 'cached_bpm'::text; hows := hows || 'btree'::text;
    END IF;
    IF a.tag_all_ids IS NOT NULL OR a.tag_any_ids IS NOT NULL THEN
        cols := cols || 'tag_ids'::text; hows := hows || 'gin'::text;
    END IF;
    IF (a.f).duration_min IS NOT NULL OR (a.f).duration_max IS NOT NULL THEN
        cols := cols || 'duration_seconds'::text; hows := hows || 'btree'::text;
    END IF;
    IF a.tsq IS NOT NULL AND a.text_indexed THEN
        text_cols := ARRAY['search_vector']; text_hows := ARRAY['gin'];
    ELSIF a.tsq IS NULL AND (a.f).fuzzy AND (a.f).q IS NOT NULL THEN
        text_cols := ARRAY['filename']; text_hows := ARRAY['trgm'];
    END IF;
    -- segment 0: the whole filter set, in no order
    names := ARRAY(SELECT midi._strategy_indexes(cols || text_cols, hows || text_hows, fixed, NULL));
    RETURN QUERY SELECT 0, 'filter'::text, x FROM unnest(CASE WHEN names = '{}' THEN '{NULL}' ELSE names END) x;
    -- the segments of midi.search, as midi._search_sql builds them
    IF ranked THEN
        seg_names := ARRAY['ranked']; seg_orders := ARRAY[NULL::text];
    ELSIF s = 'relevance' AND a.tsq IS NULL THEN
        seg_names := ARRAY['fuzzy']; seg_orders := ARRAY[NULL::text];
    ELSE
        CASE s
            WHEN 'relevance' THEN seg_names := ARRAY['name tier', 'other tier']; seg_orders := ARRAY['created_at', 'created_at'];
            WHEN 'newest' THEN seg_names := ARRAY['newest']; seg_orders := ARRAY['created_at'];
            WHEN 'bpm' THEN seg_names := ARRAY['bpm', 'bpm, none']; seg_orders := ARRAY['cached_bpm', 'id'];
            WHEN 'duration' THEN seg_names := ARRAY['duration', 'duration, none']; seg_orders := ARRAY['duration_seconds', 'id'];
            WHEN 'name' THEN seg_names := ARRAY['name']; seg_orders := ARRAY['filename'];
        END CASE;
    END IF;
    first := CASE WHEN ranked OR seg_names[1] = 'fuzzy' THEN 1 ELSE coalesce(a.cur_seg, 1) END;
    FOR i IN first .. cardinality(seg_names) LOOP
        IF seg_names[i] = 'name tier' THEN
            -- the name tier tests the file-name words instead of the text query: by their index when the
            -- words are rare in names, else as a filter on the newest-first walk
            names := ARRAY(SELECT midi._strategy_indexes(
                               cols || CASE WHEN a.name_indexed THEN ARRAY['name_tsvector(filename)'] ELSE '{}' END,
                               hows || CASE WHEN a.name_indexed THEN ARRAY['gin'] ELSE '{}' END, fixed, seg_orders[i]));
        ELSE
            names := ARRAY(SELECT midi._strategy_indexes(cols || text_cols, hows || text_hows, fixed, seg_orders[i]));
        END IF;
        RETURN QUERY SELECT i, seg_names[i], x FROM unnest(CASE WHEN names = '{}' THEN '{NULL}' ELSE names END) x;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION midi.search_strategy(q text, bpm_min numeric, bpm_max numeric, bpm_halfdouble boolean, keys midi.musical_key[], compatible_key midi.musical_key, manufacturer text[], collection text[], categories midi.file_category[], tags_all text[], tags_any text[], time_signature text, duration_min numeric, duration_max numeric, notes_min integer, notes_max integer, percussive boolean, favorites_only boolean, min_rating integer, fuzzy boolean, sort text, lim integer, after text, filters jsonb) IS 'How midi.search answers the same arguments: per segment (0 = the filter set alone), the strategy and the indexes meant to serve it (NULL: none)';
CREATE FUNCTION midi.short_label(label text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN octet_length(label) <= 255 THEN label ELSE midi._cut_label(label) END
$$;
COMMENT ON FUNCTION midi.short_label(label text) IS 'A name as stored in an indexed label column: unchanged up to 255 bytes, else cut to 252 bytes plus an ellipsis';
CREATE FUNCTION midi.split_register(parent bigint, parts jsonb) RETURNS TABLE(track_number smallint, channel smallint, file_id bigint)
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi.split_register(parent bigint, parts jsonb) IS 'Records the imported parts of a song (track_splits, parent_file_id, the song''s manufacturer and collection)';
CREATE FUNCTION midi.sync_files(ids bigint[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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
COMMENT ON FUNCTION midi.sync_files(ids bigint[]) IS 'Recomputes cached_bpm/key/category, tag_ids and the weight-D search words of the given files; returns rows changed';
CREATE FUNCTION midi.tag(file_id bigint, VARIADIC names text[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    wanted text[];
    n integer;
BEGIN
    PERFORM midi._require_file(file_id);
    wanted := ARRAY(SELECT DISTINCT midi._tag_name(x) FROM unnest(names) x ORDER BY 1);
    INSERT INTO midi.tags (name) SELECT w FROM unnest(wanted) w ORDER BY w ON CONFLICT ON CONSTRAINT tags_name_key DO NOTHING;
    INSERT INTO midi.file_tags (file_id, tag_id, source)
    SELECT tag.file_id, t.id, 'user' FROM midi.tags t WHERE t.name = ANY (wanted) ORDER BY t.id
    ON CONFLICT ON CONSTRAINT file_tags_pkey DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi.tag(file_id bigint, VARIADIC names text[]) IS 'Attaches tags (created if new) to a file as user tags; returns how many were new';
CREATE FUNCTION midi.tag_list(file_id bigint DEFAULT NULL::bigint) RETURNS TABLE(tag text, category text, source text, files bigint)
    LANGUAGE sql STABLE
    AS $$
    (SELECT t.name, t.category, coalesce(ft.source, d.source), NULL::bigint
       FROM midi.files f
            CROSS JOIN LATERAL unnest(f.tag_ids) AS x(tag_id)
            JOIN midi.tags t ON t.id = x.tag_id
            LEFT JOIN midi.file_tags ft ON ft.file_id = f.id AND ft.tag_id = t.id
            LEFT JOIN midi.derive_tags(ARRAY[f.id]) d ON d.name = t.name
      WHERE tag_list.file_id IS NOT NULL AND f.id = tag_list.file_id
      ORDER BY 1)
    UNION ALL
    (SELECT t.name, t.category, NULL, coalesce(c.files, 0)
       FROM midi.tags t
            LEFT JOIN (SELECT x.tag_id, count(*) AS files
                         FROM midi.files f CROSS JOIN LATERAL unnest(f.tag_ids) AS x(tag_id)
                        GROUP BY x.tag_id) c ON c.tag_id = t.id
      WHERE tag_list.file_id IS NULL
      ORDER BY 4 DESC, 1)
$$;
COMMENT ON FUNCTION midi.tag_list(file_id bigint) IS 'Tags of one file (with their source), or all tags with file counts';
CREATE FUNCTION midi.tag_merge(sources text[], target text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    target_id bigint;
    source_ids bigint[];
    n integer;
BEGIN
    INSERT INTO midi.tags (name) VALUES (midi._tag_name(target)) ON CONFLICT ON CONSTRAINT tags_name_key DO NOTHING;
    SELECT t.id INTO target_id FROM midi.tags t WHERE t.name = midi._tag_name(target);
    source_ids := ARRAY(SELECT t.id FROM midi.tags t
                         WHERE t.name = ANY (ARRAY(SELECT midi._tag_name(x) FROM unnest(sources) x))
                           AND t.id <> target_id ORDER BY t.id FOR UPDATE);
    INSERT INTO midi.file_tags (file_id, tag_id, source)
    SELECT ft.file_id, target_id,
           CASE WHEN bool_or(ft.source = 'user') THEN 'user' ELSE min(ft.source) END
      FROM midi.file_tags ft WHERE ft.tag_id = ANY (source_ids)
     GROUP BY ft.file_id ORDER BY ft.file_id
    ON CONFLICT ON CONSTRAINT file_tags_pkey DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM midi.tags t WHERE t.id = ANY (source_ids);
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi.tag_merge(sources text[], target text) IS 'Merges source tags into the target tag (created if missing) and deletes them; returns files that gained the target';
CREATE FUNCTION midi.tag_rename(old_name text, new_name text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    tid bigint;
BEGIN
    SELECT t.id INTO tid FROM midi.tags t WHERE t.name = midi._tag_name(old_name) FOR UPDATE;
    IF tid IS NULL THEN
        RAISE EXCEPTION 'no tag named %', old_name USING ERRCODE = 'no_data_found';
    END IF;
    IF midi._tag_name(new_name) <> midi._tag_name(old_name)
       AND EXISTS (SELECT 1 FROM midi.tags t WHERE t.name = midi._tag_name(new_name)) THEN
        RAISE EXCEPTION 'tag % already exists; use midi.tag_merge to merge into it', midi._tag_name(new_name)
            USING ERRCODE = 'unique_violation';
    END IF;
    UPDATE midi.tags SET name = midi._tag_name(new_name) WHERE id = tid AND name <> midi._tag_name(new_name);
    RETURN tid;
END;
$$;
COMMENT ON FUNCTION midi.tag_rename(old_name text, new_name text) IS 'Renames a tag everywhere; returns its id (merging is tag_merge)';
CREATE FUNCTION midi.tempo_ranges(bpm_min numeric, bpm_max numeric, halfdouble boolean DEFAULT false) RETURNS numrange[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN bpm_min IS NOT NULL OR bpm_max IS NOT NULL THEN
        ARRAY(SELECT numrange(coalesce(bpm_min, 0) * m, coalesce(bpm_max, 1000) * m, '[]')
                FROM unnest(CASE WHEN halfdouble THEN ARRAY[1, 0.5, 2] ELSE ARRAY[1] END::numeric[]) AS m
               WHERE coalesce(bpm_min, 0) * m <= 1000)
    END
$$;
COMMENT ON FUNCTION midi.tempo_ranges(bpm_min numeric, bpm_max numeric, halfdouble boolean) IS 'Inclusive BPM ranges of a tempo filter: [min,max], plus [min/2,max/2] and [2min,2max] with halfdouble';
CREATE FUNCTION midi.untag(file_id bigint, VARIADIC names text[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    n integer;
BEGIN
    PERFORM midi._require_file(file_id);
    DELETE FROM midi.file_tags ft USING midi.tags t
     WHERE ft.file_id = untag.file_id AND ft.tag_id = t.id
       AND t.name = ANY (ARRAY(SELECT midi._tag_name(x) FROM unnest(names) x));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi.untag(file_id bigint, VARIADIC names text[]) IS 'Detaches user tags from a file; returns how many were detached';
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
CREATE SEQUENCE midi.analysis_batch_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
CREATE TABLE midi.analysis_errors (
    file_id bigint NOT NULL,
    error_class text NOT NULL,
    message text NOT NULL,
    parser text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT analysis_errors_error_class_check CHECK ((error_class ~ '^[a-z][a-z_]*$'::text))
);
CREATE TABLE midi.analysis_retries (
    file_id bigint NOT NULL,
    error_class text NOT NULL,
    message text NOT NULL,
    attempts integer DEFAULT 1 NOT NULL,
    first_failed_at timestamp with time zone DEFAULT now() NOT NULL,
    last_failed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT analysis_retries_attempts_check CHECK ((attempts >= 1)),
    CONSTRAINT analysis_retries_check CHECK ((last_failed_at >= first_failed_at)),
    CONSTRAINT analysis_retries_error_class_check CHECK ((error_class ~ '^[a-z][a-z_]*$'::text))
);
COMMENT ON TABLE midi.analysis_retries IS 'Files whose last analysis attempts failed transiently: class and message of the last one, how many in a row';
CREATE MATERIALIZED VIEW midi.bpm_bucket_counts AS
 SELECT ((floor((f.cached_bpm / (10)::numeric)) * (10)::numeric))::integer AS bucket,
    count(*) AS files
   FROM midi.files f
  WHERE (f.cached_bpm IS NOT NULL)
  GROUP BY (((floor((f.cached_bpm / (10)::numeric)) * (10)::numeric))::integer)
  WITH NO DATA;
CREATE MATERIALIZED VIEW midi.category_counts AS
 SELECT f.cached_category AS category,
    count(*) AS files
   FROM midi.files f
  WHERE (f.cached_category IS NOT NULL)
  GROUP BY f.cached_category
  WITH NO DATA;
CREATE TABLE midi.category_words (
    word text NOT NULL,
    category midi.file_category NOT NULL,
    weight smallint DEFAULT 3 NOT NULL,
    CONSTRAINT category_words_weight_check CHECK (((weight >= 1) AND (weight <= 9))),
    CONSTRAINT category_words_word_check CHECK ((word ~ '^[a-z0-9]+$'::text))
);
COMMENT ON TABLE midi.category_words IS 'Whole words of file and folder names that name a category, with a weight';
CREATE MATERIALIZED VIEW midi.collection_counts AS
 SELECT f.manufacturer,
    f.collection_name,
    count(*) AS files,
    max(f.created_at) AS newest
   FROM midi.files f
  WHERE ((f.manufacturer IS NOT NULL) AND (f.collection_name IS NOT NULL))
  GROUP BY f.manufacturer, f.collection_name
  WITH NO DATA;
CREATE TABLE midi.deferred_indexes (
    name text NOT NULL,
    table_name text NOT NULL,
    definition text NOT NULL,
    comment text,
    deferred_by text NOT NULL,
    deferred_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT deferred_indexes_deferred_by_check CHECK ((deferred_by = ANY (ARRAY['import'::text, 'analysis'::text])))
);
COMMENT ON TABLE midi.deferred_indexes IS 'Search-only ([deferrable]) indexes a bulk load dropped, with their definition and comment, until they are built again';
ALTER TABLE midi.file_paths ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.file_paths_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
ALTER TABLE midi.files ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.files_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.gm_instruments (
    program smallint NOT NULL,
    name text NOT NULL,
    family text NOT NULL,
    category midi.file_category,
    CONSTRAINT gm_instruments_program_check CHECK (((program >= 0) AND (program <= 127)))
);
COMMENT ON TABLE midi.gm_instruments IS 'General MIDI program names, families and the category each suggests';
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
CREATE MATERIALIZED VIEW midi.key_counts AS
 SELECT f.cached_key AS key,
    count(*) AS files
   FROM midi.files f
  WHERE (f.cached_key IS NOT NULL)
  GROUP BY f.cached_key
  WITH NO DATA;
CREATE TABLE midi.key_profiles (
    name text NOT NULL,
    title text NOT NULL,
    reference text NOT NULL,
    major double precision[] NOT NULL,
    minor double precision[] NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    CONSTRAINT key_profiles_major_check CHECK (((cardinality(major) = 12) AND (array_ndims(major) = 1))),
    CONSTRAINT key_profiles_minor_check CHECK (((cardinality(minor) = 12) AND (array_ndims(minor) = 1))),
    CONSTRAINT key_profiles_name_check CHECK ((name ~ '^[a-z][a-z0-9_]*$'::text))
);
COMMENT ON TABLE midi.key_profiles IS 'Key profiles keys are estimated with; the default one is used by analysis';
CREATE TABLE midi.key_templates (
    profile text NOT NULL,
    key midi.musical_key NOT NULL,
    weights double precision[] NOT NULL,
    CONSTRAINT key_templates_weights_check CHECK ((cardinality(weights) = 12))
);
CREATE MATERIALIZED VIEW midi.library_stats AS
 SELECT true AS singleton,
    count(*) AS files,
    count(*) FILTER (WHERE (f.analyzed_at IS NOT NULL)) AS analyzed,
    count(*) FILTER (WHERE (f.cached_bpm IS NOT NULL)) AS with_bpm,
    count(*) FILTER (WHERE ((f.cached_key IS NOT NULL) AND (f.cached_key <> 'UNKNOWN'::midi.musical_key))) AS with_key,
    count(DISTINCT f.manufacturer) AS manufacturers,
    count(DISTINCT ROW(f.manufacturer, f.collection_name)) FILTER (WHERE (f.collection_name IS NOT NULL)) AS collections,
    (COALESCE(sum(f.file_size_bytes), (0)::numeric))::bigint AS total_bytes,
    COALESCE(sum(f.duration_seconds), (0)::numeric) AS total_seconds,
    ( SELECT count(*) AS count
           FROM midi.file_paths) AS paths,
    ( SELECT count(*) AS count
           FROM midi.tags) AS tags,
    ( SELECT count(*) AS count
           FROM midi.favorites) AS favorites,
    ( SELECT count(*) AS count
           FROM midi.ratings) AS rated,
    now() AS refreshed_at
   FROM midi.files f
  WITH NO DATA;
CREATE MATERIALIZED VIEW midi.manufacturer_counts AS
 SELECT f.manufacturer,
    count(*) AS files,
    count(DISTINCT f.collection_name) AS collections,
    max(f.created_at) AS newest
   FROM midi.files f
  WHERE (f.manufacturer IS NOT NULL)
  GROUP BY f.manufacturer
  WITH NO DATA;
ALTER TABLE midi.profile_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME midi.profile_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.saved_searches (
    id bigint NOT NULL,
    name text NOT NULL,
    filters jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT saved_searches_filters_check CHECK ((jsonb_typeof(filters) = 'object'::text)),
    CONSTRAINT saved_searches_name_check CHECK (((name = btrim(name)) AND (name <> ''::text)))
);
COMMENT ON TABLE midi.saved_searches IS 'Named searches: midi.search arguments as a JSON object, run by name';
ALTER TABLE midi.saved_searches ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.saved_searches_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.search_word_sample (
    singleton boolean DEFAULT true NOT NULL,
    files bigint NOT NULL,
    analyzed bigint NOT NULL,
    sampled bigint NOT NULL,
    taken_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT search_word_sample_analyzed_check CHECK ((analyzed >= 0)),
    CONSTRAINT search_word_sample_files_check CHECK ((files >= 0)),
    CONSTRAINT search_word_sample_sampled_check CHECK ((sampled >= 0)),
    CONSTRAINT search_word_sample_singleton_check CHECK (singleton)
);
COMMENT ON TABLE midi.search_word_sample IS 'The sample behind midi.search_words: files and analyzed files in the library then, documents read, when';
CREATE TABLE midi.search_words (
    word text NOT NULL COLLATE pg_catalog."C",
    files real NOT NULL,
    name_files real NOT NULL,
    CONSTRAINT search_words_check CHECK (((name_files >= (0)::double precision) AND (name_files <= files))),
    CONSTRAINT search_words_files_check CHECK ((files >= (0)::double precision))
);
COMMENT ON TABLE midi.search_words IS 'Estimated files per search word (whole document, and file names alone), from the last sample of the library';
COMMENT ON COLUMN midi.search_words.word IS 'A lexeme of the midi.names configuration (C collation: prefix ranges)';
COMMENT ON COLUMN midi.search_words.files IS 'Estimated files whose search document holds the word';
COMMENT ON COLUMN midi.search_words.name_files IS 'Estimated files whose file name holds the word (weight A)';
CREATE MATERIALIZED VIEW midi.tag_counts AS
 SELECT t.tag_id,
    count(*) AS files
   FROM (midi.files f
     CROSS JOIN LATERAL unnest(f.tag_ids) t(tag_id))
  GROUP BY t.tag_id
  WITH NO DATA;
ALTER TABLE midi.tags ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.tags_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
ALTER TABLE midi.track_splits ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.track_splits_id_seq
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
ALTER TABLE ONLY midi.analysis_retries
    ADD CONSTRAINT analysis_retries_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.category_words
    ADD CONSTRAINT category_words_pkey PRIMARY KEY (word);
ALTER TABLE ONLY midi.deferred_indexes
    ADD CONSTRAINT deferred_indexes_pkey PRIMARY KEY (name);
ALTER TABLE ONLY midi.favorites
    ADD CONSTRAINT favorites_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.file_categories
    ADD CONSTRAINT file_categories_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.file_paths
    ADD CONSTRAINT file_paths_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.file_tags
    ADD CONSTRAINT file_tags_pkey PRIMARY KEY (file_id, tag_id);
ALTER TABLE ONLY midi.files
    ADD CONSTRAINT files_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.gm_instruments
    ADD CONSTRAINT gm_instruments_pkey PRIMARY KEY (program);
ALTER TABLE ONLY midi.import_batches
    ADD CONSTRAINT import_batches_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.import_errors
    ADD CONSTRAINT import_errors_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.key_profiles
    ADD CONSTRAINT key_profiles_pkey PRIMARY KEY (name);
ALTER TABLE ONLY midi.key_templates
    ADD CONSTRAINT key_templates_pkey PRIMARY KEY (profile, key);
ALTER TABLE ONLY midi.musical_metadata
    ADD CONSTRAINT musical_metadata_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.profile_runs
    ADD CONSTRAINT profile_runs_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.ratings
    ADD CONSTRAINT ratings_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.saved_searches
    ADD CONSTRAINT saved_searches_name_key UNIQUE (name);
ALTER TABLE ONLY midi.saved_searches
    ADD CONSTRAINT saved_searches_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.search_word_sample
    ADD CONSTRAINT search_word_sample_pkey PRIMARY KEY (singleton);
ALTER TABLE ONLY midi.search_words
    ADD CONSTRAINT search_words_pkey PRIMARY KEY (word);
ALTER TABLE ONLY midi.tags
    ADD CONSTRAINT tags_name_key UNIQUE (name);
ALTER TABLE ONLY midi.tags
    ADD CONSTRAINT tags_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.track_splits
    ADD CONSTRAINT track_splits_part_key UNIQUE NULLS NOT DISTINCT (parent_file_id, track_number, channel);
ALTER TABLE ONLY midi.track_splits
    ADD CONSTRAINT track_splits_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.vocabulary
    ADD CONSTRAINT vocabulary_pkey PRIMARY KEY (kind, word);
COMMENT ON INDEX midi.analysis_errors_pkey IS 'serves: foreign key analysis_errors.file_id -- a file''s analysis error';
COMMENT ON INDEX midi.analysis_retries_pkey IS 'serves: midi.analysis_claim; foreign key analysis_retries.file_id -- a file''s transient failures';
CREATE UNIQUE INDEX bpm_bucket_counts_key ON midi.bpm_bucket_counts USING btree (bucket);
COMMENT ON INDEX midi.bpm_bucket_counts_key IS 'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
CREATE UNIQUE INDEX category_counts_key ON midi.category_counts USING btree (category);
COMMENT ON INDEX midi.category_counts_key IS 'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.category_words_pkey IS 'serves: primary key category_words -- one weight per word';
CREATE UNIQUE INDEX collection_counts_key ON midi.collection_counts USING btree (manufacturer, collection_name);
COMMENT ON INDEX midi.collection_counts_key IS 'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.deferred_indexes_pkey IS 'serves: primary key deferred_indexes -- one row per dropped index';
COMMENT ON INDEX midi.favorites_pkey IS 'serves: text, rare word; newest page; file details -- whether each returned file is a favorite (a probe per row)';
COMMENT ON INDEX midi.file_categories_pkey IS 'serves: file details; file_details; foreign key file_categories.file_id -- a file''s categories';
CREATE UNIQUE INDEX file_instruments_part_key ON midi.file_instruments USING btree (file_id, channel, program, is_drum) NULLS NOT DISTINCT;
COMMENT ON INDEX midi.file_instruments_part_key IS 'serves: file details; foreign key file_instruments.file_id -- one row per part (channel, program, drum flag; unknowns equal): a file''s instruments';
CREATE UNIQUE INDEX file_paths_path_key ON midi.file_paths USING btree (midi.path_head(path), midi.path_digest(path, path_bytes));
COMMENT ON INDEX midi.file_paths_path_key IS 'serves: midi.import_merge; midi.import_finish -- one row per location: the import''s ON CONFLICT on file_paths; the prune of the paths under a root (a range of path_head)';
COMMENT ON INDEX midi.file_paths_pkey IS 'serves: primary key file_paths -- the row''s identity (no call reads a path by its id)';
COMMENT ON INDEX midi.file_tags_pkey IS 'serves: tag_count_before; tag_count_after; midi.tag_list file_id=$id; foreign key file_tags.file_id -- a file''s user tags';
COMMENT ON INDEX midi.files_pkey IS 'serves: file details; load_tracks of 10; single_lookup; batch_track_loading; find_by_id_essential; find_for_analysis -- a file by its id';
COMMENT ON INDEX midi.gm_instruments_pkey IS 'serves: primary key gm_instruments -- one name and category per General MIDI program';
CREATE INDEX idx_analysis_staging_batch ON midi.analysis_staging USING btree (batch);
COMMENT ON INDEX midi.idx_analysis_staging_batch IS 'serves: midi.analysis_apply -- the rows of one staged batch';
CREATE INDEX idx_file_paths_file ON midi.file_paths USING btree (file_id);
COMMENT ON INDEX midi.idx_file_paths_file IS 'serves: file details; midi.duplicates_of file_id=$id; midi.analysis_claim; foreign key file_paths.file_id -- the paths of a file';
CREATE INDEX idx_file_tags_tag ON midi.file_tags USING btree (tag_id);
COMMENT ON INDEX midi.idx_file_tags_tag IS 'serves: foreign key file_tags.tag_id -- the ON DELETE CASCADE of a deleted tag';
CREATE INDEX idx_files_bpm ON midi.files USING btree (cached_bpm, id) INCLUDE (cached_key, cached_category);
COMMENT ON INDEX midi.idx_files_bpm IS 'serves: facets, BPM + key; midi.search sort=bpm -- tempo ranges and the bpm order [deferrable]';
CREATE INDEX idx_files_collection ON midi.files USING btree (collection_name) WHERE (collection_name IS NOT NULL);
COMMENT ON INDEX midi.idx_files_collection IS 'serves: midi.search collection=$collection -- a collection''s files (a collection is small: its rows are sorted after the scan) [deferrable]';
CREATE UNIQUE INDEX idx_files_content_hash ON midi.files USING btree (content_hash);
COMMENT ON INDEX midi.idx_files_content_hash IS 'serves: duplicate_check; midi.import_merge -- one row per content: the import''s ON CONFLICT (content_hash) and its probe of each content''s canonical path';
CREATE INDEX idx_files_duration_id ON midi.files USING btree (duration_seconds, id);
COMMENT ON INDEX midi.idx_files_duration_id IS 'serves: newest page / sort duration -- (duration, id) order, and the files of unknown duration by id [deferrable]';
CREATE INDEX idx_files_filename_trgm ON midi.files USING gin (filename midi.gin_trgm_ops);
COMMENT ON INDEX midi.idx_files_filename_trgm IS 'serves: fuzzy name (typo) -- trigram candidates of a fuzzy file-name search [deferrable]';
CREATE INDEX idx_files_key_bpm ON midi.files USING btree (cached_key, cached_bpm, id) INCLUDE (cached_category, manufacturer, collection_name, tag_ids);
COMMENT ON INDEX midi.idx_files_key_bpm IS 'serves: text + BPM + key; filters: BPM + key + manufacturer; count, BPM + key; facets, BPM + key; filters: BPM + key + manufacturer / sort bpm -- key equality and a tempo range in (bpm, id) order; their facets counted from the index alone [deferrable]';
CREATE INDEX idx_files_key_duration ON midi.files USING btree (cached_key, duration_seconds, id, cached_bpm);
COMMENT ON INDEX midi.idx_files_key_duration IS 'serves: filters: BPM + key + manufacturer / sort duration -- one key''s files in (duration, id) order, the tempo tested in the index [deferrable]';
CREATE INDEX idx_files_key_newest ON midi.files USING btree (cached_key, created_at DESC, id DESC, cached_bpm);
COMMENT ON INDEX midi.idx_files_key_newest IS 'serves: facets, BPM + key -- one key newest first, the tempo tested inside the index [deferrable]';
CREATE INDEX idx_files_manufacturer_newest ON midi.files USING btree (manufacturer, created_at DESC, id DESC);
COMMENT ON INDEX midi.idx_files_manufacturer_newest IS 'serves: midi.search manufacturer=$maker; filters: BPM + key + manufacturer -- a manufacturer''s files newest first [deferrable]';
CREATE INDEX idx_files_name ON midi.files USING btree (filename, id);
COMMENT ON INDEX midi.idx_files_name IS 'serves: midi.search sort=name -- the file-name order (filename, id keyset) [deferrable]';
CREATE INDEX idx_files_name_words ON midi.files USING gin (midi.name_tsvector(filename));
COMMENT ON INDEX midi.idx_files_name_words IS 'serves: midi.search q=$maker -- the first relevance tier (every word in the file name) of a word common in the library but rare in file names, such as a manufacturer [deferrable]';
CREATE INDEX idx_files_newest ON midi.files USING btree (created_at DESC, id DESC);
COMMENT ON INDEX midi.idx_files_newest IS 'serves: newest page; text, broad word ''bass''; page 100 of ''bass'' (keyset) -- newest first (id the keyset tie-breaker): a page without a selective filter, the relevance tiers of a broad word [deferrable]';
CREATE INDEX idx_files_parent ON midi.files USING btree (parent_file_id) WHERE (parent_file_id IS NOT NULL);
COMMENT ON INDEX midi.idx_files_parent IS 'serves: foreign key files.parent_file_id -- the ON DELETE SET NULL of a deleted parent file (partial: files without a parent have no entry)';
CREATE INDEX idx_files_search ON midi.files USING gin (search_vector);
COMMENT ON INDEX midi.idx_files_search IS 'serves: text, rare word; facets, rare word; search_primary -- the postings of a text query rare enough to read them (midi._search_args) [deferrable]';
CREATE INDEX idx_files_tag_ids ON midi.files USING gin (tag_ids);
COMMENT ON INDEX midi.idx_files_tag_ids IS 'serves: tags (all of two) -- tag filters (tags_all, tags_any) as an array test on files.tag_ids [deferrable]';
CREATE INDEX idx_import_errors_batch ON midi.import_errors USING btree (batch_id);
COMMENT ON INDEX midi.idx_import_errors_batch IS 'serves: foreign key import_errors.batch_id -- the ON DELETE CASCADE of a deleted import batch';
CREATE INDEX idx_import_staging_chunk ON midi.import_staging USING btree (batch_id, chunk);
COMMENT ON INDEX midi.idx_import_staging_chunk IS 'serves: midi.import_merge -- the rows of one staged chunk';
CREATE INDEX idx_track_splits_split ON midi.track_splits USING btree (split_file_id);
COMMENT ON INDEX midi.idx_track_splits_split IS 'serves: foreign key track_splits.split_file_id -- which song a part belongs to (midi.catalog''s track_number)';
COMMENT ON INDEX midi.import_batches_pkey IS 'serves: midi.import_finish -- a batch by its id (every chunk''s counts, closing it)';
CREATE UNIQUE INDEX import_errors_path_key ON midi.import_errors USING btree (midi.path_head(path), midi.path_digest(path, path_bytes));
COMMENT ON INDEX midi.import_errors_path_key IS 'serves: midi.import_merge; midi.import_finish -- one error row per location: the import''s ON CONFLICT, its removal of errors a path no longer has, the prune of stale errors under a root';
COMMENT ON INDEX midi.import_errors_pkey IS 'serves: primary key import_errors -- the row''s identity (no call reads an error by its id)';
CREATE UNIQUE INDEX key_counts_key ON midi.key_counts USING btree (key);
COMMENT ON INDEX midi.key_counts_key IS 'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
CREATE UNIQUE INDEX key_profiles_one_default ON midi.key_profiles USING btree (is_default) WHERE is_default;
COMMENT ON INDEX midi.key_profiles_one_default IS 'serves: midi.default_key_profile -- at most one default profile, and its lookup';
COMMENT ON INDEX midi.key_profiles_pkey IS 'serves: primary key key_profiles -- a profile by its name (the referenced key of key_templates.profile)';
COMMENT ON INDEX midi.key_templates_pkey IS 'serves: midi.estimate_key histogram={1,0,1,0,1,1,0,1,0,1,0,1}; foreign key key_templates.profile -- the 24 templates of a profile';
CREATE UNIQUE INDEX library_stats_key ON midi.library_stats USING btree (singleton);
COMMENT ON INDEX midi.library_stats_key IS 'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
CREATE UNIQUE INDEX manufacturer_counts_key ON midi.manufacturer_counts USING btree (manufacturer);
COMMENT ON INDEX midi.manufacturer_counts_key IS 'serves: midi.refresh_views -- REFRESH MATERIALIZED VIEW CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.musical_metadata_pkey IS 'serves: file details; file_details; search_primary; foreign key musical_metadata.file_id -- a file''s facts';
COMMENT ON INDEX midi.profile_runs_pkey IS 'serves: midi.profile_history -- the newest recorded runs first, for "since last time" and --history';
COMMENT ON INDEX midi.ratings_pkey IS 'serves: file details; foreign key ratings.file_id -- a file''s rating';
COMMENT ON INDEX midi.saved_searches_name_key IS 'serves: unique saved_searches.name -- one saved search per name';
COMMENT ON INDEX midi.saved_searches_pkey IS 'serves: primary key saved_searches -- the row''s identity';
COMMENT ON INDEX midi.search_word_sample_pkey IS 'serves: primary key search_word_sample -- one row: the scale of the word estimates (the strategy of a text query reads it)';
COMMENT ON INDEX midi.search_words_pkey IS 'serves: text, rare word; text, broad word ''bass''; text + BPM + key; count, broad word -- the strategy of a text query looks up its words (and prefixes) here';
CREATE UNIQUE INDEX tag_counts_key ON midi.tag_counts USING btree (tag_id);
COMMENT ON INDEX midi.tag_counts_key IS 'serves: facets, no filter; midi.refresh_views -- the unfiltered tag counts joined to the tag names; REFRESH ... CONCURRENTLY needs a unique index';
COMMENT ON INDEX midi.tags_name_key IS 'serves: unique tags.name -- one tag per name';
COMMENT ON INDEX midi.tags_pkey IS 'serves: file details; facets, BPM + key -- a tag''s name by its id';
COMMENT ON INDEX midi.track_splits_part_key IS 'serves: unique track_splits.parent_file_id,track_number,channel; foreign key track_splits.parent_file_id -- one row per part of a song (midi.split_register''s ON CONFLICT); the parts of a song';
COMMENT ON INDEX midi.track_splits_pkey IS 'serves: primary key track_splits -- the row''s identity (parts are found by their parent or their file)';
COMMENT ON INDEX midi.vocabulary_pkey IS 'serves: primary key vocabulary -- one label per word and kind';
CREATE TRIGGER file_categories_sync_del AFTER DELETE ON midi.file_categories REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER file_categories_sync_ins AFTER INSERT ON midi.file_categories REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER file_categories_sync_upd AFTER UPDATE ON midi.file_categories REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER file_instruments_sync_del AFTER DELETE ON midi.file_instruments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER file_instruments_sync_ins AFTER INSERT ON midi.file_instruments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER file_instruments_sync_upd AFTER UPDATE ON midi.file_instruments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER file_tags_sync_del AFTER DELETE ON midi.file_tags REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER file_tags_sync_ins AFTER INSERT ON midi.file_tags REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER file_tags_sync_upd AFTER UPDATE ON midi.file_tags REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER files_cached_from_name_insert BEFORE INSERT ON midi.files FOR EACH ROW WHEN ((((new.cached_bpm IS NULL) AND (new.filename_bpm IS NOT NULL)) OR ((new.cached_key IS NULL) AND (new.filename_key IS NOT NULL)))) EXECUTE FUNCTION midi._files_cached_from_name();
CREATE TRIGGER files_cached_from_name_update BEFORE UPDATE OF filename_bpm, filename_key ON midi.files FOR EACH ROW EXECUTE FUNCTION midi._files_cached_from_name();
CREATE TRIGGER files_search_vector BEFORE UPDATE OF filename, manufacturer, collection_name, folder_tags ON midi.files FOR EACH ROW EXECUTE FUNCTION midi._files_search_vector();
CREATE TRIGGER files_search_vector_insert BEFORE INSERT ON midi.files FOR EACH ROW WHEN ((new.search_vector IS NULL)) EXECUTE FUNCTION midi._files_search_vector();
CREATE TRIGGER files_touch_updated_at BEFORE UPDATE ON midi.files FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION midi._touch_updated_at();
CREATE TRIGGER key_profiles_templates AFTER INSERT OR DELETE OR UPDATE OF name, major, minor ON midi.key_profiles FOR EACH STATEMENT EXECUTE FUNCTION midi._key_profiles_changed();
CREATE TRIGGER musical_metadata_sync_del AFTER DELETE ON midi.musical_metadata REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER musical_metadata_sync_ins AFTER INSERT ON midi.musical_metadata REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER musical_metadata_sync_upd AFTER UPDATE ON midi.musical_metadata REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_children();
CREATE TRIGGER musical_metadata_touch_updated_at BEFORE UPDATE ON midi.musical_metadata FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION midi._touch_updated_at();
CREATE TRIGGER tags_sync_del AFTER DELETE ON midi.tags REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_tags();
CREATE TRIGGER tags_sync_upd AFTER UPDATE ON midi.tags REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION midi._sync_from_tags();
ALTER TABLE ONLY midi.analysis_errors
    ADD CONSTRAINT analysis_errors_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.analysis_retries
    ADD CONSTRAINT analysis_retries_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
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
ALTER TABLE ONLY midi.key_templates
    ADD CONSTRAINT key_templates_profile_fkey FOREIGN KEY (profile) REFERENCES midi.key_profiles(name) ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE ONLY midi.musical_metadata
    ADD CONSTRAINT musical_metadata_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.ratings
    ADD CONSTRAINT ratings_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.track_splits
    ADD CONSTRAINT track_splits_parent_file_id_fkey FOREIGN KEY (parent_file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.track_splits
    ADD CONSTRAINT track_splits_split_file_id_fkey FOREIGN KEY (split_file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
