-- midi.import_merge moves staged chunks into files / file_paths / import_errors: duplicates by content,
-- every path kept, errors recorded, counts kept, and a re-merge of the same rows changes nothing else.
BEGIN;
SELECT plan(31);

SELECT midi.import_begin(ARRAY['/lib'], 'test') AS batch \gset
INSERT INTO midi.import_staging (batch_id, chunk, root, path, path_bytes, rel, content_hash, file_size_bytes, format,
                                 header_tracks, num_tracks, ticks_per_quarter_note, is_rmid, warnings, error_class, message)
VALUES (:batch, 1, '/lib', '/lib/Vendor/Pack/Bass/Deep_Bass_124bpm_Am.mid', NULL, 'Vendor/Pack/Bass/Deep_Bass_124bpm_Am.mid',
        decode(repeat('aa', 32), 'hex'), 100, 1, 2, 2, 480, false, '{}', NULL, NULL),
       (:batch, 1, '/lib', '/lib/Vendor/Pack/Copy/same.mid', NULL, 'Vendor/Pack/Copy/same.mid',
        decode(repeat('aa', 32), 'hex'), 100, 1, 2, 2, 480, false, '{}', NULL, NULL),
       (:batch, 1, '/lib', '/lib/Vendor/Pack/Odd/name' || chr(10) || 'x.mid', '\x2f6c69622fff'::bytea, 'Vendor/Pack/Odd/x.mid',
        decode(repeat('bb', 32), 'hex'), 50, 0, 1, 2, 96, false, '{track_count_mismatch}', NULL, NULL),
       (:batch, 1, '/lib', '/lib/Vendor/bad.mid', NULL, 'Vendor/bad.mid', NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL,
        'empty', 'zero bytes');

SELECT results_eq(format('SELECT * FROM midi.import_merge(%s, 1)', :batch), $$VALUES (4, 2, 1, 1)$$,
                  'counts: 4 seen, 2 new contents, 1 duplicate, 1 error');
SELECT is((SELECT count(*)::int FROM midi.files), 2, 'one files row per distinct content');
SELECT is((SELECT count(*)::int FROM midi.file_paths), 3, 'one file_paths row per location');
SELECT is((SELECT count(DISTINCT file_id)::int FROM midi.file_paths WHERE path LIKE '/lib/Vendor/Pack/%' AND path_bytes IS NULL), 1,
          'both copies point at the same content');
SELECT is((SELECT filepath FROM midi.files WHERE content_hash = decode(repeat('aa', 32), 'hex')),
          '/lib/Vendor/Pack/Bass/Deep_Bass_124bpm_Am.mid', 'the canonical path is the first in byte order');
SELECT is((SELECT error_class || ':' || message FROM midi.import_errors), 'empty:zero bytes', 'the error row');
SELECT is((SELECT manufacturer || '/' || collection_name || '/' || array_to_string(folder_tags, ',')
             FROM midi.files WHERE content_hash = decode(repeat('aa', 32), 'hex')), 'Vendor/Pack/bass', 'path metadata');
SELECT is((SELECT filename_bpm::float8 || ' ' || filename_key::text FROM midi.files WHERE content_hash = decode(repeat('aa', 32), 'hex')),
          '124 Am', 'filename metadata');
SELECT is((SELECT cached_bpm::float8 || ' ' || cached_key::text FROM midi.files WHERE content_hash = decode(repeat('aa', 32), 'hex')),
          '124 Am', 'until analysis the search columns hold what the name states');
SELECT is((SELECT count(*)::int FROM midi.files
            WHERE (cached_bpm, cached_key) IS DISTINCT FROM (filename_bpm, filename_key)), 0,
          'every merged file: cached BPM and key equal the name''s');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'deep & bass & vendor & pack')
             FROM midi.files WHERE content_hash = decode(repeat('aa', 32), 'hex')), 'search vector supplied by the merge');
SELECT is((SELECT search_vector FROM midi.files WHERE content_hash = decode(repeat('aa', 32), 'hex')),
          (SELECT midi.file_search_vector(filename, manufacturer, collection_name, folder_tags) FROM midi.files
            WHERE content_hash = decode(repeat('aa', 32), 'hex')),
          'the supplied vector equals what the trigger computes');
SELECT is((SELECT path_bytes FROM midi.file_paths WHERE path_bytes IS NOT NULL), '\x2f6c69622fff'::bytea,
          'a non-UTF-8 name keeps its exact bytes');
SELECT is((SELECT midi_warnings FROM midi.files WHERE content_hash = decode(repeat('bb', 32), 'hex')),
          '{track_count_mismatch}', 'structural warnings are kept on the file');
SELECT is((SELECT count(*)::int FROM midi.import_staging), 0, 'the chunk left the staging table');
SELECT is((SELECT files_seen || '/' || files_new || '/' || duplicates || '/' || errors FROM midi.import_batches WHERE id = :batch),
          '4/2/1/1', 'batch counters');

-- the same rows again, as a re-import would stage them: nothing but timestamps changes
CREATE TEMP TABLE before_paths AS SELECT id, path, path_bytes, file_id, import_batch_id FROM midi.file_paths;
CREATE TEMP TABLE before_files AS SELECT id, content_hash, filepath, manufacturer FROM midi.files;
SELECT midi.import_begin(ARRAY['/lib'], 'test') AS batch2 \gset
INSERT INTO midi.import_staging (batch_id, chunk, root, path, path_bytes, rel, content_hash, file_size_bytes, format,
                                 header_tracks, num_tracks, ticks_per_quarter_note, is_rmid, warnings, error_class, message)
SELECT :batch2, 1, root, path, path_bytes, rel, content_hash, file_size_bytes, format, header_tracks, num_tracks,
       ticks_per_quarter_note, is_rmid, warnings, error_class, message
FROM (VALUES ('/lib', '/lib/Vendor/Pack/Bass/Deep_Bass_124bpm_Am.mid', NULL::bytea, 'Vendor/Pack/Bass/Deep_Bass_124bpm_Am.mid',
              decode(repeat('aa', 32), 'hex'), 100, 1::smallint, 2, 2, 480, false, '{}'::text[], NULL, NULL),
             ('/lib', '/lib/Vendor/bad.mid', NULL::bytea, 'Vendor/bad.mid', NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL,
              'empty', 'zero bytes'))
     v(root, path, path_bytes, rel, content_hash, file_size_bytes, format, header_tracks, num_tracks,
       ticks_per_quarter_note, is_rmid, warnings, error_class, message);
SELECT results_eq(format('SELECT * FROM midi.import_merge(%s, 1)', :batch2), $$VALUES (2, 0, 1, 1)$$,
                  're-merge: nothing new');
SELECT set_eq('SELECT id, path, path_bytes, file_id, import_batch_id FROM midi.file_paths',
              'SELECT * FROM before_paths', 'file_paths unchanged but for timestamps');
SELECT set_eq('SELECT id, content_hash, filepath, manufacturer FROM midi.files', 'SELECT * FROM before_files',
              'files unchanged');
SELECT is((SELECT count(*)::int FROM midi.import_errors), 1, 'still one error row for the same path');

-- a file that became readable loses its error row; a changed content moves its path
INSERT INTO midi.import_staging (batch_id, chunk, root, path, rel, content_hash, file_size_bytes, format, header_tracks,
                                 num_tracks, ticks_per_quarter_note, is_rmid, warnings)
VALUES (:batch2, 2, '/lib', '/lib/Vendor/bad.mid', 'Vendor/bad.mid', decode(repeat('cc', 32), 'hex'), 30, 0, 1, 1, 96, false, '{}'),
       (:batch2, 2, '/lib', '/lib/Vendor/Pack/Copy/same.mid', 'Vendor/Pack/Copy/same.mid', decode(repeat('dd', 32), 'hex'),
        30, 0, 1, 1, 96, false, '{}');
SELECT results_eq(format('SELECT * FROM midi.import_merge(%s, 2)', :batch2), $$VALUES (2, 2, 0, 0)$$, 'two new contents');
SELECT is((SELECT count(*)::int FROM midi.import_errors), 0, 'the fixed file left import_errors');
SELECT is((SELECT encode(f.content_hash, 'hex') FROM midi.file_paths p JOIN midi.files f ON f.id = p.file_id
            WHERE p.path = '/lib/Vendor/Pack/Copy/same.mid'), repeat('dd', 32), 'an edited file points at its new content');

-- prune marks the paths under the batch's roots that the run did not see missing (never deletes them),
-- drops stale error rows there, and moves a file's canonical path to its smallest present path.
-- Content aa: its canonical path (under the root, not seen by this run), a path under the root this run
-- saw, and an old path outside the root. An old error row under the root and one outside it.
UPDATE midi.file_paths SET last_seen = now() - interval '1 day' WHERE path = '/lib/Vendor/Pack/Bass/Deep_Bass_124bpm_Am.mid';
UPDATE midi.file_paths SET last_seen = now() - interval '1 day' WHERE path = '/lib/Vendor/Pack/Copy/same.mid';
SELECT midi.import_begin(ARRAY['/lib/Vendor/Pack/Bass'], 'test') AS batch3 \gset
UPDATE midi.import_batches SET started_at = now() - interval '1 hour' WHERE id = :batch3;
INSERT INTO midi.file_paths (path, file_id, last_seen)
SELECT v.path, f.id, now() - v.age
  FROM midi.files f,
       (VALUES ('/lib/Vendor/Pack/Bass/Seen_Now.mid', interval '0'), ('/lib/Vendor/Pack/Keep/z_copy.mid', interval '2 days'))
       AS v(path, age)
 WHERE f.content_hash = decode(repeat('aa', 32), 'hex');
INSERT INTO midi.import_errors (path, batch_id, error_class, message, last_seen)
VALUES ('/lib/Vendor/Pack/Bass/gone.mid', :batch3, 'not_midi', 'x', now() - interval '1 day'),
       ('/lib/Vendor/Pack/Other/old.mid', :batch3, 'not_midi', 'x', now() - interval '1 day');
SELECT lives_ok(format('SELECT midi.import_finish(%s, 0, true)', :batch3), 'finish with prune');
SELECT is((SELECT string_agg(path || '=' || (missing_since IS NOT NULL), ' ' ORDER BY path) FROM midi.file_paths
            WHERE file_id = (SELECT id FROM midi.files WHERE content_hash = decode(repeat('aa', 32), 'hex'))),
          '/lib/Vendor/Pack/Bass/Deep_Bass_124bpm_Am.mid=true /lib/Vendor/Pack/Bass/Seen_Now.mid=false /lib/Vendor/Pack/Keep/z_copy.mid=false',
          'prune: the unseen path under the root is marked missing; a path this run saw and one outside the root are not');
SELECT is((SELECT missing_since FROM midi.file_paths WHERE path = '/lib/Vendor/Pack/Bass/Deep_Bass_124bpm_Am.mid'), now(),
          'missing_since is the time of the pruning run');
SELECT is((SELECT missing_since FROM midi.file_paths WHERE path = '/lib/Vendor/Pack/Copy/same.mid'), NULL,
          'an old path outside the roots is left alone');
SELECT is((SELECT filepath || ' ' || filename FROM midi.files WHERE content_hash = decode(repeat('aa', 32), 'hex')),
          '/lib/Vendor/Pack/Bass/Seen_Now.mid Seen_Now.mid',
          'the canonical path moves to the smallest present path, and the file name with it');
SELECT is((SELECT count(*)::int FROM midi.file_paths), 6, 'no path row was deleted');
SELECT is((SELECT string_agg(path, ' ') FROM midi.import_errors), '/lib/Vendor/Pack/Other/old.mid',
          'the stale error row under the root is dropped, the one outside kept');
SELECT is((SELECT status FROM midi.import_batches WHERE id = :batch3), 'done', 'the batch is closed');
SELECT * FROM finish();
ROLLBACK;
