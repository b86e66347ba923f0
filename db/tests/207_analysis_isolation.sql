-- One file's facts that the catalog refuses never fail their batch: a refusal analysis_apply knows of is
-- routed to a 'rejected' error before writing; anything else the catalog refuses (here: a check and an
-- index entry too large, added to the schema for the test as stand-ins for the unforeseen) is isolated
-- in savepoints and becomes that file's 'rejected' error with the server's message; the rest is applied.
BEGIN;
SELECT plan(12);

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes)
SELECT 9700 + i, 'f' || i || '.mid', '/iso/f' || i || '.mid', decode(lpad(to_hex(9700 + i), 64, '0'), 'hex'), 100
  FROM generate_series(1, 9) i;

CREATE TEMP TABLE good_row (LIKE midi.analysis_staging) ON COMMIT DROP;
INSERT INTO good_row VALUES (
    1, 0, NULL, NULL, 'symusic', 480, 1920, 4.0, 120, 'meta', false, '[[0,120.0]]', 4, 4, '[]', NULL, 8, 0, 3, 60, 67,
    90, 95.5, 100, 2.0, 1, 1.0, true, false, false, false,
    '[{"channel":0,"program":0,"is_drum":false,"note_count":8,"name":"Lead"}]', '{Lead}', '{}', NULL, '{}', false,
    '{0.5,0,0,0,0.25,0,0,0.25,0,0,0,0}');

-- 9701..9709: good, except 9703 (a histogram of 11 shares), 9705 (negative duration), 9706 (13 notes,
-- which the test's check refuses), 9708 (a copyright too large for the test's btree index)
INSERT INTO midi.analysis_staging
SELECT (g).batch, 9700 + i, (g).error_class, (g).message, (g).parser, (g).ticks_per_quarter,
       CASE WHEN i = 5 THEN -30 ELSE (g).duration_ticks END, (g).duration_seconds, (g).bpm, (g).bpm_source,
       (g).has_tempo_changes, (g).tempo_map, (g).time_signature_numerator, (g).time_signature_denominator,
       (g).time_signatures, (g).key_from_signature, CASE WHEN i = 6 THEN 13 ELSE (g).total_notes END, (g).drum_note_count,
       (g).unique_pitches, (g).pitch_min, (g).pitch_max, (g).velocity_min, (g).velocity_avg, (g).velocity_max,
       (g).note_density, (g).polyphony_max, (g).polyphony_avg, (g).is_monophonic, (g).has_chords, (g).has_melody,
       (g).is_percussive, (g).instruments, (g).track_names, (g).instrument_names,
       CASE WHEN i = 8 THEN (SELECT string_agg(md5(n::text), '') FROM generate_series(1, 300) n) END, (g).markers,
       (g).has_lyrics, CASE WHEN i = 3 THEN (g).pitch_class_histogram[1:11] ELSE (g).pitch_class_histogram END
  FROM good_row g, generate_series(1, 9) i;

ALTER TABLE midi.musical_metadata ADD CONSTRAINT test_no_thirteen CHECK (total_notes <> 13);
CREATE INDEX test_copyright ON midi.musical_metadata (copyright);

SELECT results_eq('SELECT analyzed, errors FROM midi.analysis_apply(1, 1)', $$VALUES (5, 4)$$,
                  'the batch is applied: five files analyzed, four refused');
SELECT results_eq($$SELECT file_id FROM midi.musical_metadata WHERE file_id BETWEEN 9701 AND 9709 ORDER BY 1$$,
                  $$VALUES (9701::bigint), (9702), (9704), (9707), (9709)$$, 'every file the catalog takes has its facts');
SELECT results_eq($$SELECT file_id, error_class FROM midi.analysis_errors ORDER BY 1$$,
                  $$VALUES (9703::bigint, 'rejected'), (9705, 'rejected'), (9706, 'rejected'), (9708, 'rejected')$$,
                  'every refused file has its rejected error');
SELECT matches((SELECT message FROM midi.analysis_errors WHERE file_id = 9703), 'pitch_class_histogram is not 12 shares',
               'a known refusal says what is wrong');
SELECT matches((SELECT message FROM midi.analysis_errors WHERE file_id = 9705), 'duration_ticks -30 is negative',
               'another known refusal');
SELECT matches((SELECT message FROM midi.analysis_errors WHERE file_id = 9706), 'SQLSTATE 23514.*test_no_thirteen',
               'an unforeseen check: the server''s SQLSTATE and message');
SELECT matches((SELECT message FROM midi.analysis_errors WHERE file_id = 9708), 'SQLSTATE 54000.*index row',
               'an index entry too large: the server''s message');
SELECT is((SELECT count(*)::int FROM midi.files WHERE id BETWEEN 9701 AND 9709 AND analyzed_at IS NOT NULL), 9,
          'every file of the batch got its answer');
SELECT is((SELECT count(*)::int FROM midi.file_instruments WHERE file_id BETWEEN 9701 AND 9709), 5,
          'refused files leave no partial facts behind');
SELECT is((SELECT count(*)::int FROM midi.analysis_staging), 0, 'the staging rows are gone');
SELECT is((SELECT midi.sync_files(array_agg(id)) FROM midi.files WHERE id BETWEEN 9701 AND 9709), 0,
          'the search columns agree with what sync_files computes');
SELECT is(midi._analysis_refusal(ROW(g.*)::midi.analysis_staging, enum_range(NULL::midi.musical_key)::text[]), NULL,
          'a good row has no refusal') FROM good_row g;

SELECT * FROM finish();
ROLLBACK;
