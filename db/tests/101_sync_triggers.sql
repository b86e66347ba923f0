-- The 45_sync triggers keep files.cached_bpm / cached_key / cached_category / tag_ids and the weight-D
-- search words true whenever metadata, categories, instruments, tags or file_tags change; filename (A),
-- place (B) and folder (C) words stay; writes that change nothing leave the files row alone.
BEGIN;
SELECT plan(25);

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, manufacturer, folder_tags, filename_bpm, filename_key)
VALUES (1, 'Warm_Pad_100bpm_Cm.mid', '/lib/Acme/Warm_Pad_100bpm_Cm.mid', sha256('1'), 10, 'Acme', '{pads}', 100, 'Cm'),
       (2, 'Plain.mid', '/lib/Plain.mid', sha256('2'), 10, NULL, '{}', NULL, NULL);
SELECT is((SELECT format('%s %s', cached_bpm, cached_key) FROM midi.files WHERE id = 1), '100.00 Cm',
          'before analysis BPM and key are what the name states');
SELECT is((SELECT format('%s %s', cached_bpm, cached_key) FROM midi.files WHERE id = 2), ' ',
          'a name that states nothing leaves them empty');

INSERT INTO midi.musical_metadata (file_id, bpm, key_signature) VALUES (1, 101.5, 'Eb'), (2, 87, 'UNKNOWN');
SELECT is((SELECT format('%s %s', cached_bpm, cached_key) FROM midi.files WHERE id = 1), '101.50 Eb',
          'analysis facts win over the name');
SELECT is((SELECT format('%s %s', cached_bpm, cached_key) FROM midi.files WHERE id = 2), '87.00 ',
          'an UNKNOWN key is no key');
UPDATE midi.musical_metadata SET key_signature = 'UNKNOWN', bpm = NULL WHERE file_id = 1;
SELECT is((SELECT format('%s %s', cached_bpm, cached_key) FROM midi.files WHERE id = 1), '100.00 Cm',
          'when analysis knows nothing the name speaks again');
DELETE FROM midi.musical_metadata WHERE file_id = 2;
SELECT is((SELECT cached_bpm FROM midi.files WHERE id = 2), NULL::numeric, 'deleting metadata clears the cache');
UPDATE midi.files SET filename_bpm = 120 WHERE id = 2;
SELECT is((SELECT cached_bpm FROM midi.files WHERE id = 2), 120.00, 'a changed name BPM reaches the cache');

INSERT INTO midi.file_categories (file_id, primary_category, secondary_category) VALUES (1, 'pad', 'strings');
SELECT is((SELECT cached_category FROM midi.files WHERE id = 1), 'pad'::midi.file_category, 'category cached');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'strings:D') FROM midi.files WHERE id = 1),
          'categories are search words (weight D)');
UPDATE midi.file_categories SET primary_category = 'keys' WHERE file_id = 1;
SELECT is((SELECT cached_category FROM midi.files WHERE id = 1), 'keys'::midi.file_category, 'a changed category follows');

INSERT INTO midi.file_instruments (file_id, channel, program, instrument_name) VALUES (1, 0, 89, 'Pad 2 (warm)');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'warm:D') FROM midi.files WHERE id = 2) IS NOT TRUE
          AND (SELECT search_vector @@ to_tsquery('midi.names', 'pad:D & warm') FROM midi.files WHERE id = 1),
          'instrument names are search words (weight D) of their file only');

SELECT midi.tag(2, 'Vintage Gear', 'lofi');
SELECT is((SELECT cardinality(tag_ids) FROM midi.files WHERE id = 2), 2, 'tag ids follow file_tags');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'vintage:D & gear:D & lofi:D') FROM midi.files WHERE id = 2),
          'tag names are search words (weight D)');
UPDATE midi.tags SET name = 'retro gear' WHERE name = 'vintage gear';
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'retro') AND NOT search_vector @@ to_tsquery('midi.names', 'vintage')
             FROM midi.files WHERE id = 2), 'renaming a tag renames the files'' search words');
DELETE FROM midi.tags WHERE name = 'lofi';
SELECT ok((SELECT cardinality(tag_ids) = 1 AND NOT search_vector @@ to_tsquery('midi.names', 'lofi') FROM midi.files WHERE id = 2),
          'deleting a tag removes it from its files');

UPDATE midi.files SET filename = 'Cold_Lead.mid' WHERE id = 1;
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'cold:A & lead:A') AND NOT search_vector @@ to_tsquery('midi.names', 'warm:A')
             FROM midi.files WHERE id = 1), 'a renamed file gets its new name words (weight A)');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'acme:B & pads:C & strings:D & warm:D') FROM midi.files WHERE id = 1),
          'and keeps its place (B), folder (C) and tag/category/instrument (D) words');

-- writes that change nothing do not rewrite the files row
SELECT xmin::text AS x1 FROM midi.files WHERE id = 1 \gset
UPDATE midi.musical_metadata SET updated_at = updated_at WHERE file_id = 1;
UPDATE midi.file_categories SET confidence = 0.5 WHERE file_id = 1;
SELECT is((SELECT xmin::text FROM midi.files WHERE id = 1), :'x1', 'no-op child writes leave files untouched');

-- a bulk writer may defer the triggers and sync once
SET LOCAL midi.defer_sync = 'on';
INSERT INTO midi.musical_metadata (file_id, bpm, key_signature) VALUES (2, 140, 'Am');
SELECT is((SELECT cached_bpm FROM midi.files WHERE id = 2), 120.00, 'deferred: nothing synced yet');
SELECT is(midi.sync_files(ARRAY[1, 2]::bigint[]), 1, 'sync_files syncs and counts the rows it changed');
SELECT is((SELECT format('%s %s', cached_bpm, cached_key) FROM midi.files WHERE id = 2), '140.00 Am', 'after sync_files');
SELECT is(midi.sync_files(ARRAY[1, 2]::bigint[]), 0, 'sync_files again changes nothing');
RESET midi.defer_sync;

SELECT is(ARRAY(SELECT n FROM unnest(ARRAY['DeepHouse_Bass_124bpm_Am.mid', 'HTMLParser-v2.MIDI', 'lo fi.kar', 'DnB LoFi 01',
                                            'my-loop.v2.mid', 'Ünïcödé_Ärp.mid']) n
                 WHERE setweight(midi.name_tsvector(n), 'A') IS DISTINCT FROM midi.name_vector(n)), '{}'::text[],
          'name_tsvector (indexed, in 0006) has exactly the file-name words of the search document');
SELECT is((SELECT count(*)::integer FROM pg_trigger t WHERE NOT t.tgisinternal AND t.tgname LIKE '%\_sync\_%'), 14,
          'twelve child-table triggers, and the tag rename and tag delete triggers');
SELECT ok((SELECT bool_and(t.tgtype & 1 = 0) FROM pg_trigger t WHERE NOT t.tgisinternal AND t.tgname LIKE '%\_sync\_%'),
          'all of them statement-level');
SELECT * FROM finish();
ROLLBACK;
