-- Projections and loading: file_essential, file_for_analysis and load_tracks (order as asked,
-- duplicates repeated, unknown ids skipped), file_details (the seed's four tables plus tags,
-- instruments, rating and every path), duplicates_of (every location of the same content).
BEGIN;
SELECT plan(16);
\ir fixtures/search_library.sql
INSERT INTO midi.file_paths (path, file_id) VALUES ('/backup/Deep_House_Bass_124bpm_Am.mid', 1), ('/aaa/copy.mid', 1);

SELECT is((SELECT (id, filename, filepath, file_size_bytes)::text FROM midi.file_essential(3)),
          '(3,Chill_Chords_90bpm_C.mid,"/lib/Chord Club/Chill_Chords_90bpm_C.mid",1003)', 'file_essential');
SELECT is((SELECT count(*)::integer FROM midi.file_essential(999)), 0, 'file_essential of an unknown id: no row');
SELECT is(ARRAY(SELECT id FROM midi.file_for_analysis(ARRAY[9, 2, 5])), ARRAY[9, 2, 5]::bigint[], 'file_for_analysis keeps the order');
SELECT is((SELECT num_tracks FROM midi.file_for_analysis(ARRAY[9])), 2::smallint, 'file_for_analysis has num_tracks');
SELECT is(ARRAY(SELECT id FROM midi.load_tracks(ARRAY[7, 3, 10, 1])), ARRAY[7, 3, 10, 1]::bigint[], 'load_tracks keeps the order asked');
SELECT is(ARRAY(SELECT id FROM midi.load_tracks(ARRAY[4, 4, 999, 2])), ARRAY[4, 4, 2]::bigint[],
          'duplicates repeat, unknown ids are skipped');
SELECT is((SELECT filepath FROM midi.load_tracks(ARRAY[2])), '/lib/Loopforge/Techno_Kick_130.mid', 'load_tracks has the path');
SELECT is((SELECT count(*)::integer FROM midi.load_tracks('{}')), 0, 'nothing asked, nothing loaded');

SELECT is((SELECT (bpm, key_signature, time_signature_numerator, time_signature_denominator, total_notes, is_percussive,
                   primary_category, is_favorite)::text FROM midi.file_details(8)),
          '(128,F,3,4,48,f,melody,t)', 'file_details: the seed''s four-table columns');
SELECT is((SELECT (rating, tags)::text FROM midi.file_details(3)), '(3,"{lofi,warm}")', 'file_details: rating and tags');
SELECT is((SELECT instruments FROM midi.file_details(10)), ARRAY['Synth Bass 1 (ch 1)'], 'file_details: instruments');
SELECT is((SELECT paths FROM midi.file_details(1)),
          ARRAY['/aaa/copy.mid', '/backup/Deep_House_Bass_124bpm_Am.mid', '/lib/Loopforge/Deep_House_Bass_124bpm_Am.mid'],
          'file_details: every path');
SELECT is((SELECT (bpm, key_signature)::text FROM midi.file_details(6)), '(,Dm)', 'file_details of an unanalyzed file: the name''s key');
SELECT is(ARRAY(SELECT path FROM midi.duplicates_of(1)),
          ARRAY['/lib/Loopforge/Deep_House_Bass_124bpm_Am.mid', '/aaa/copy.mid', '/backup/Deep_House_Bass_124bpm_Am.mid'],
          'duplicates_of: canonical path first, then the copies');
SELECT is(ARRAY(SELECT is_canonical FROM midi.duplicates_of(1)), ARRAY[true, false, false], 'duplicates_of flags the canonical path');
SELECT is((SELECT count(*)::integer FROM midi.duplicates_of(999)), 0, 'duplicates_of an unknown id: none');
SELECT * FROM finish();
ROLLBACK;
