-- midi.analysis_claim: which files need analysis (never analyzed, older analyzer, or analyzed before a
-- --reanalyze cutoff), in id order after a keyset id, at most max_files, with their readable paths
-- (canonical first, missing ones last) and the suspect flag; claimed files are locked until the
-- transaction ends. The locks need a second session to observe (this file runs in one transaction, which
-- holds its own row locks anyway): tests/test_claim.py claims in one session and probes from another.
BEGIN;
SELECT plan(11);

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, analyzed_at, analyzer_version, midi_warnings)
VALUES (9401, 'a.mid', '/l/b/a.mid', decode(repeat('41', 32), 'hex'), 1, NULL, NULL, '{}'),
       (9402, 'b.mid', '/l/b.mid', decode(repeat('42', 32), 'hex'), 1, now() - interval '1 hour', 1, '{}'),
       (9403, 'c.mid', '/l/c.mid', decode(repeat('43', 32), 'hex'), 1, now() - interval '1 hour', 2, '{truncated_track}'),
       (9404, 'd.mid', '/l/d.mid', decode(repeat('44', 32), 'hex'), 1, NULL, NULL, '{trailing_garbage}');
INSERT INTO midi.file_paths (path, path_bytes, file_id, missing_since)
VALUES ('/l/b/a.mid', NULL, 9401, NULL), ('/l/a/a.mid', NULL, 9401, now()), ('/l/z/a.mid', NULL, 9401, NULL),
       ('/l/b.mid', NULL, 9402, NULL), ('/l/c.mid', NULL, 9403, NULL);

SELECT ok(midi.analysis_needed(NULL, NULL, 1) AND midi.analysis_needed(now(), 1, 2)
          AND NOT midi.analysis_needed(now(), 2, 2) AND midi.analysis_needed(now() - interval '1 s', 2, 2, now())
          AND NOT midi.analysis_needed(now(), 2, 2, now() - interval '1 s'), 'analysis_needed truth table');
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9400, 10, 2) ORDER BY 1$$,
                  $$VALUES (9401::bigint), (9402), (9404)$$, 'version 2: the unanalyzed files and the one analyzed by version 1');
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9400, 10, 1)$$,
                  $$VALUES (9401::bigint), (9404)$$, 'version 1: only the unanalyzed ones');
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9400, 10, 2, now())$$,
                  $$VALUES (9401::bigint), (9402), (9403), (9404)$$, 'reanalyze: everything analyzed before the cutoff');
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9401, 2, 2, now())$$,
                  $$VALUES (9402::bigint), (9403)$$, 'keyset: after an id, at most max_files, in id order');
SELECT is((SELECT paths FROM midi.analysis_claim(9400, 1, 2)), ARRAY['/l/b/a.mid', '/l/z/a.mid', '/l/a/a.mid'],
          'paths: the canonical first, then the others, missing ones last');
SELECT is((SELECT paths_bytes FROM midi.analysis_claim(9400, 1, 2)), ARRAY[NULL, NULL, NULL]::bytea[], 'path bytes beside them');
SELECT is((SELECT string_agg(file_id || ':' || suspect, ' ' ORDER BY file_id) FROM midi.analysis_claim(9400, 10, 2, now())),
          '9401:false 9402:false 9403:true 9404:true', 'suspect when the import recorded structural warnings');
SELECT is((SELECT paths FROM midi.analysis_claim(9403, 1, 2)), ARRAY['/l/d.mid'], 'a file without path rows falls back to filepath');
SELECT isnt(midi.analysis_next_batch(), midi.analysis_next_batch(), 'batch numbers are fresh');
SELECT is((SELECT content_hash FROM midi.analysis_claim(9400, 1, 2)), decode(repeat('41', 32), 'hex'),
          'the content hash, for the workers to check the bytes they read against');

SELECT * FROM finish();
ROLLBACK;
