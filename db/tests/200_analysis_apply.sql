-- midi.analysis_apply moves one staged batch into the catalog: facts, instruments, errors, files columns;
-- BPM provenance and clamping; a failure replaces stale facts; a fixed file leaves analysis_errors.
BEGIN;
SELECT plan(27);

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, manufacturer, filename_bpm, filename_key)
VALUES (9001, 'Deep_Bass_124bpm_Am.mid', '/lib/V/P/Bass/Deep_Bass_124bpm_Am.mid', decode(repeat('01', 32), 'hex'), 100, 'Vendor', 124, 'Am'),
       (9002, 'loop.mid', '/lib/V/P/loop.mid', decode(repeat('02', 32), 'hex'), 100, NULL, NULL, NULL),
       (9003, 'broken.mid', '/lib/V/P/broken.mid', decode(repeat('03', 32), 'hex'), 100, NULL, NULL, NULL),
       (9004, 'Fast 90bpm.mid', '/lib/V/P/Fast 90bpm.mid', decode(repeat('04', 32), 'hex'), 100, NULL, 90, NULL);

-- 9001: no tempo event (default 120), the name says 124 BPM and Am; a bass part and a drum part
-- 9002: a tempo event at 97.5 BPM, a D major signature, 7/8
-- 9003: fails
-- 9004: a tempo event far above the column's range, an invalid time signature
INSERT INTO midi.analysis_staging (batch, file_id, error_class, message, parser, ticks_per_quarter, duration_ticks,
    duration_seconds, bpm, bpm_source, has_tempo_changes, tempo_map, time_signature_numerator, time_signature_denominator,
    time_signatures, key_from_signature, total_notes, drum_note_count, unique_pitches, pitch_min, pitch_max, velocity_min,
    velocity_avg, velocity_max, note_density, polyphony_max, polyphony_avg, is_monophonic, has_chords, has_melody,
    is_percussive, instruments, track_names, instrument_names, copyright, markers, has_lyrics, pitch_class_histogram)
VALUES
    (1, 9001, NULL, NULL, 'symusic', 480, 7680, 8.0, 120, 'default', false, '[[0,120.0]]', 4, 4, '[]', NULL, 40, 16, 5, 33, 45,
     80, 100.5, 120, 5.0, 1, 1.0, true, false, false, true,
     '[{"channel":2,"program":33,"is_drum":false,"note_count":24,"name":"Bass"},{"channel":9,"program":null,"is_drum":true,"note_count":16,"name":"Drums"}]',
     '{Bass,Drums}', '{}', '(c) Vendor', '{Intro}', false, '{0.3,0,0.1,0,0.2,0,0,0.1,0,0.3,0,0}'),
    (1, 9002, NULL, NULL, 'mido', 96, 960, 6.154, 97.5, 'meta', true, '[[0,97.5],[480,100.0]]', 7, 8, '[[0,7,8]]', 'D', 12, 0, 6,
     60, 74, 64, 64.0, 64, 1.95, 3, 2.5, false, true, true, false,
     '[{"channel":null,"program":0,"is_drum":false,"note_count":7,"name":""},{"channel":null,"program":null,"is_drum":false,"note_count":5,"name":""}]', '{}', '{Piano}', NULL, '{}', true,
     '{0,0,0,0,0,0,0,0,0,0,0,0}'),
    (1, 9003, 'parse_failed', 'symusic: bad; mido: worse', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL),
    (1, 9004, NULL, NULL, 'symusic', 480, 480, 0.001, 60000000, 'meta', false, '[[0,60000000.0]]', 200, 3, '[]', NULL, 1, 0, 1,
     60, 60, 100, 100, 100, 1000.0, 1, 1, true, false, false, false,
     '[{"program":80,"is_drum":false,"note_count":1,"name":"Lead"}]', '{}', '{}', NULL, '{}', false,
     '{1,0,0,0,0,0,0,0,0,0,0,0}');

SELECT results_eq('SELECT analyzed, errors FROM midi.analysis_apply(1, 3)', $$VALUES (3, 1)$$, 'three analyzed, one error');
SELECT is((SELECT count(*)::int FROM midi.analysis_staging), 0, 'the batch left the staging table');
SELECT is((SELECT count(*)::int FROM midi.files WHERE id BETWEEN 9001 AND 9004 AND analyzed_at IS NOT NULL AND analyzer_version = 3),
          4, 'every file of the batch is stamped analyzed, with the analyzer version');
SELECT is((SELECT bpm::float8 || ' ' || bpm_source FROM midi.musical_metadata WHERE file_id = 9001), '124 filename',
          'no tempo event: the BPM the name states, with its source');
SELECT is((SELECT bpm::float8 || ' ' || bpm_source || ' ' || has_tempo_changes FROM midi.musical_metadata WHERE file_id = 9002),
          '97.5 meta true', 'a tempo event wins');
SELECT is((SELECT bpm::float8 FROM midi.musical_metadata WHERE file_id = 9004), 1000::float8, 'BPM clamped to the column range');
SELECT is((SELECT key_signature::text || ' ' || key_source FROM midi.musical_metadata WHERE file_id = 9002), 'D signature',
          'the key signature is chosen first');
SELECT is((SELECT key_signature::text || ' ' || key_source || ' ' || key_from_filename FROM midi.musical_metadata WHERE file_id = 9001),
          'Am filename Am', 'then the key the file name states');
SELECT ok((SELECT key_estimate IS NOT NULL AND key_profile = 'aarden' FROM midi.musical_metadata WHERE file_id = 9001),
          'the estimate is kept beside the chosen key, with its profile');
SELECT is((SELECT key_signature::text || ' ' || coalesce(key_source, '-') || ' ' || coalesce(key_estimate::text, '-')
             FROM midi.musical_metadata WHERE file_id = 9002 AND pitch_class_histogram = array_fill(0::float8, ARRAY[12])),
          'D signature -', 'an all-zero histogram has no estimate');
SELECT is((SELECT time_signature_numerator || '/' || time_signature_denominator FROM midi.musical_metadata WHERE file_id = 9002),
          '7/8', 'time signature');
SELECT ok((SELECT time_signature_numerator IS NULL AND time_signature_denominator IS NULL FROM midi.musical_metadata WHERE file_id = 9004),
          'an impossible time signature is stored as unknown, not rejected');
SELECT is((SELECT drum_note_count || ' ' || is_percussive || ' ' || total_notes FROM midi.musical_metadata WHERE file_id = 9001),
          '16 true 40', 'drum notes and flag');
SELECT results_eq($$SELECT channel::int, program::int, is_drum, note_count, instrument_name FROM midi.file_instruments
                     WHERE file_id = 9001 ORDER BY is_drum, program$$,
                  $$VALUES (2, 33, false, 24, 'Electric Bass (finger)'), (9, NULL, true, 16, 'Drum Kit')$$,
                  'instruments: their channels, GM names, a drum kit whose kit no program change set');
SELECT results_eq($$SELECT channel::int, program::int, note_count, instrument_name FROM midi.file_instruments
                     WHERE file_id = 9002 ORDER BY program$$,
                  $$VALUES (NULL::int, 0, 7, 'Acoustic Grand Piano'), (NULL, NULL, 5, NULL)$$,
                  'a channel or program the parser could not tell is stored as NULL, not as channel 1 or piano');
SELECT is((SELECT instruments FROM midi.file_details(9002)), ARRAY['Acoustic Grand Piano', 'no program set'],
          'file_details prints no channel it does not know');
SELECT is((SELECT track_names || copyright || markers FROM midi.musical_metadata WHERE file_id = 9001),
          '{Bass,Drums,"(c) Vendor",Intro}', 'track names, copyright and markers');
SELECT is((SELECT has_lyrics::text || parser FROM midi.musical_metadata WHERE file_id = 9002), 'truemido', 'lyrics flag and parser');
SELECT is((SELECT duration_seconds::float8 || ' ' || duration_ticks FROM midi.files WHERE id = 9002), '6.154 960', 'duration on files');
SELECT is((SELECT error_class || ': ' || message FROM midi.analysis_errors WHERE file_id = 9003), 'parse_failed: symusic: bad; mido: worse',
          'the failure is recorded with its class');
SELECT ok(NOT EXISTS (SELECT 1 FROM midi.musical_metadata WHERE file_id = 9003), 'a failed file has no facts');
SELECT is((SELECT cached_bpm::float8 || ' ' || cached_key || ' ' || cached_category FROM midi.files WHERE id = 9001),
          '124 Am bass', 'the denormalized search columns are set in the same update');
SELECT is((SELECT midi.sync_files(ARRAY[9001, 9002, 9003, 9004]::bigint[])), 0, 'and agree with what midi.sync_files computes');

-- the broken file is fixed, the loop now fails: each ends in exactly one of the two tables
INSERT INTO midi.analysis_staging (batch, file_id, error_class, message, parser, duration_ticks, duration_seconds, bpm, bpm_source,
    total_notes, drum_note_count, instruments, pitch_class_histogram)
VALUES (2, 9003, NULL, NULL, 'mido', 10, 0.01, 120, 'default', 0, 0, '[]', array_fill(0::float8, ARRAY[12])),
       (2, 9002, 'parse_failed', 'symusic: no; mido: no', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq('SELECT analyzed, errors FROM midi.analysis_apply(2, 3)', $$VALUES (1, 1)$$, 'second batch');
SELECT ok(NOT EXISTS (SELECT 1 FROM midi.analysis_errors WHERE file_id = 9003)
          AND EXISTS (SELECT 1 FROM midi.musical_metadata WHERE file_id = 9003), 'a fixed file leaves analysis_errors');
SELECT ok(EXISTS (SELECT 1 FROM midi.analysis_errors WHERE file_id = 9002 AND error_class = 'parse_failed')
          AND NOT EXISTS (SELECT 1 FROM midi.musical_metadata WHERE file_id = 9002)
          AND NOT EXISTS (SELECT 1 FROM midi.file_instruments WHERE file_id = 9002), 'a file whose bytes fail now keeps no stale facts');
SELECT is((SELECT coalesce(bpm::text, 'NULL') || ' ' || bpm_source FROM midi.musical_metadata WHERE file_id = 9003), 'NULL default',
          'no tempo event and none in the name: no BPM (MIDI''s implicit 120 is not stored as the file''s tempo)');

SELECT * FROM finish();
ROLLBACK;
