-- Category rules (midi.derive_categories, applied by analysis_apply): name words on word boundaries
-- first (file name over folder, weight orders several words, genre phrases are not categories), then
-- what is heard: drums, drums with pitched parts, the GM program of the main part, and shape (range,
-- voices, chords, melody, density). Secondary category and confidence say how name and sound agree.
BEGIN;
SELECT plan(19);

CREATE TEMP TABLE cases (id bigint, filename text, folder_tags text[], total int, drums int, pmax int, pmax_poly int,
                         pavg float8, chords boolean, melody boolean, mono boolean, density float8, instruments jsonb,
                         expect text);
INSERT INTO cases VALUES
    (9201, 'Kick_Loop_01.mid', '{}', 16, 16, NULL, 0, 0, false, false, false, 4, '[{"program":0,"is_drum":true,"note_count":16}]', 'kick/-/0.95'),
    (9202, 'Groove 03.mid', '{hats}', 32, 32, NULL, 0, 0, false, false, false, 8, '[{"program":0,"is_drum":true,"note_count":32}]', 'hats/-/0.95'),
    (9203, 'take 7.mid', '{}', 32, 32, NULL, 0, 0, false, false, false, 8, '[{"program":0,"is_drum":true,"note_count":32}]', 'drums/-/0.5'),
    (9204, 'Song 1.mid', '{}', 300, 100, 84, 5, 3, true, true, false, 9,
     '[{"program":0,"is_drum":true,"note_count":100},{"program":33,"is_drum":false,"note_count":100},{"program":81,"is_drum":false,"note_count":100}]',
     'full_mix/-/0.95'),
    (9205, 'untitled.mid', '{}', 40, 0, 50, 1, 1, false, false, true, 3, '[{"program":0,"is_drum":false,"note_count":40}]', 'bass/-/0.5'),
    (9206, 'untitled 2.mid', '{}', 40, 0, 80, 4, 3.5, true, false, false, 3, '[{"program":0,"is_drum":false,"note_count":40}]', 'chords/-/0.5'),
    (9207, 'untitled 3.mid', '{}', 12, 0, 80, 4, 3.5, true, false, false, 0.5, '[{"program":0,"is_drum":false,"note_count":12}]', 'pad/-/0.5'),
    (9208, 'untitled 4.mid', '{}', 64, 0, 84, 1, 1, false, true, true, 3, '[{"program":0,"is_drum":false,"note_count":64}]', 'melody/-/0.5'),
    (9209, 'untitled 5.mid', '{}', 64, 0, 84, 1, 1, false, false, true, 8, '[{"program":0,"is_drum":false,"note_count":64}]', 'arp/-/0.5'),
    (9210, 'untitled 6.mid', '{}', 64, 0, 84, 1, 1, false, true, true, 3, '[{"program":40,"is_drum":false,"note_count":64}]', 'strings/-/0.5'),
    (9211, 'FutureBass_Pad_Cm.mid', '{}', 12, 0, 80, 4, 3.5, true, false, false, 0.5, '[{"program":89,"is_drum":false,"note_count":12}]', 'pad/-/0.95'),
    (9212, 'DnB Drum&Bass Stab.mid', '{}', 12, 0, 80, 4, 3.5, true, false, false, 2, '[{"program":0,"is_drum":false,"note_count":12}]', 'chords/-/0.95'),
    (9213, 'Bassoon Line.mid', '{}', 64, 0, 84, 1, 1, false, true, true, 3, '[{"program":70,"is_drum":false,"note_count":64}]', 'woodwind/-/0.5'),
    (9214, 'Synth Bass 2.mid', '{}', 40, 0, 50, 1, 1, false, false, true, 3, '[{"program":38,"is_drum":false,"note_count":40}]', 'bass/-/0.95'),
    (9215, 'Brass Stab.mid', '{}', 12, 0, 80, 4, 3.5, true, false, false, 2, '[{"program":0,"is_drum":false,"note_count":12}]', 'brass/chords/0.8'),
    (9216, 'Idea 9.mid', '{leads}', 64, 0, 84, 1, 1, false, true, true, 3, '[{"program":0,"is_drum":false,"note_count":64}]', 'lead/melody/0.7'),
    (9217, 'Bassline Groove.mid', '{}', 48, 8, 50, 1, 1, false, false, true, 3,
     '[{"program":0,"is_drum":true,"note_count":8},{"program":33,"is_drum":false,"note_count":40}]', 'bass/drums/0.95'),
    (9218, 'silence.mid', '{}', 0, 0, NULL, 0, 0, false, false, false, 0, '[]', 'unknown/-/0');

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, folder_tags)
SELECT c.id, c.filename, '/l/' || c.filename, decode(lpad(to_hex(c.id), 64, '0'), 'hex'), 1, c.folder_tags FROM cases c;
INSERT INTO midi.analysis_staging (batch, file_id, parser, duration_ticks, duration_seconds, bpm, bpm_source, total_notes,
    drum_note_count, pitch_max, pitch_min, polyphony_max, polyphony_avg, has_chords, has_melody, is_monophonic, note_density,
    instruments, pitch_class_histogram)
SELECT 11, c.id, 'symusic', 1, 1, 120, 'meta', c.total, c.drums, c.pmax, least(c.pmax, 40), c.pmax_poly, c.pavg, c.chords,
       c.melody, c.mono, c.density, c.instruments, array_fill(0::float8, ARRAY[12])
  FROM cases c;
SELECT midi.analysis_apply(11, 1);

SELECT is((SELECT fc.primary_category || '/' || coalesce(fc.secondary_category::text, '-') || '/' || fc.confidence
             FROM midi.file_categories fc WHERE fc.file_id = c.id), c.expect, c.filename || ' -> ' || c.expect)
  FROM cases c ORDER BY c.id;

UPDATE midi.category_words SET category = 'percussion' WHERE word = 'kick';
SELECT midi.relabel(ARRAY[9201]::bigint[]);
SELECT is((SELECT primary_category::text FROM midi.file_categories WHERE file_id = 9201), 'percussion',
          'the rules are data: relabel applies an edited word table without reading files');

SELECT * FROM finish();
ROLLBACK;
