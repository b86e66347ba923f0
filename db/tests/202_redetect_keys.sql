-- midi.redetect_keys re-derives every key from the stored histograms with another profile, without reading
-- files: estimates change where the profiles disagree, keys from signatures and file names stay, key
-- tags follow, the profile becomes the default, an unknown profile is an error.
BEGIN;
SELECT plan(11);

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, filename_key)
VALUES (9101, 'a.mid', '/l/a.mid', decode(repeat('11', 32), 'hex'), 1, NULL),
       (9102, 'b.mid', '/l/b.mid', decode(repeat('12', 32), 'hex'), 1, NULL),
       (9103, 'c Am.mid', '/l/c Am.mid', decode(repeat('13', 32), 'hex'), 1, 'Am'),
       (9104, 'd.mid', '/l/d.mid', decode(repeat('14', 32), 'hex'), 1, NULL);
-- 9101: Aarden-Essen hears F minor, Temperley-Kostka-Payne A flat major; 9102: a clear C major scale;
-- 9103: the same ambiguous notes but the name says Am; 9104: the ambiguous notes and an Eb signature
INSERT INTO midi.analysis_staging (batch, file_id, parser, duration_ticks, duration_seconds, bpm, bpm_source, total_notes,
                                   drum_note_count, instruments, key_from_signature, pitch_class_histogram)
VALUES (7, 9101, 'symusic', 1, 1, 120, 'meta', 10, 0, '[]', NULL, '{0.387,0.002,0.012,0.144,0.005,0.003,0.331,0.551,0.772,0.018,0.186,0.099}'),
       (7, 9102, 'symusic', 1, 1, 120, 'meta', 10, 0, '[]', NULL, '{0.25,0,0.1,0,0.12,0.08,0,0.2,0,0.1,0,0.05}'),
       (7, 9103, 'symusic', 1, 1, 120, 'meta', 10, 0, '[]', NULL, '{0.387,0.002,0.012,0.144,0.005,0.003,0.331,0.551,0.772,0.018,0.186,0.099}'),
       (7, 9104, 'symusic', 1, 1, 120, 'meta', 10, 0, '[]', 'Eb', '{0.387,0.002,0.012,0.144,0.005,0.003,0.331,0.551,0.772,0.018,0.186,0.099}');
SELECT midi.analysis_apply(7, 1);

SELECT is((SELECT key_signature::text || ' ' || key_source || ' ' || key_profile FROM midi.musical_metadata WHERE file_id = 9101),
          'Fm estimate aarden', 'with the default profile: F minor');
SELECT ok(EXISTS (SELECT 1 FROM midi.tag_list(9101) WHERE tag = 'f minor' AND source = 'analysis'), 'and its key tag');

SELECT is(midi.redetect_keys('temperley'), 1, 'one chosen key changed');
SELECT is((SELECT name FROM midi.key_profiles WHERE is_default), 'temperley', 'the profile is now the default');
SELECT is((SELECT key_signature::text || ' ' || key_source || ' ' || key_profile FROM midi.musical_metadata WHERE file_id = 9101),
          'Ab estimate temperley', 'the estimate became A flat major');
SELECT ok(EXISTS (SELECT 1 FROM midi.tag_list(9101) WHERE tag = 'ab major')
          AND NOT EXISTS (SELECT 1 FROM midi.tag_list(9101) WHERE tag = 'f minor')
          AND (SELECT tag_ids FROM midi.files WHERE id = 9101) @> ARRAY(SELECT id FROM midi.tags WHERE name = 'ab major')
          AND NOT (SELECT tag_ids FROM midi.files WHERE id = 9101) && ARRAY(SELECT id FROM midi.tags WHERE name = 'f minor'),
          'the key tag followed (in tag_ids too)');
SELECT is((SELECT cached_key::text FROM midi.files WHERE id = 9101), 'Ab', 'and the cached key');
SELECT is((SELECT key_signature::text || ' ' || key_estimate FROM midi.musical_metadata WHERE file_id = 9102), 'C C',
          'a clear key stays');
SELECT is((SELECT string_agg(key_signature || ':' || key_source || ':' || key_estimate, ' ' ORDER BY file_id)
             FROM midi.musical_metadata WHERE file_id IN (9103, 9104)),
          'Am:filename:Ab Eb:signature:Ab', 'keys from the file name and from signatures stay; only their estimate moves');
SELECT is(midi.redetect_keys('Aarden-Essen'), 1, 'back to Aarden-Essen by its title: the key changes back');
SELECT throws_ok($$SELECT midi.redetect_keys('nonsense')$$, '22023', NULL, 'an unknown profile is an error');

SELECT * FROM finish();
ROLLBACK;
