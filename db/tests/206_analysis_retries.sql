-- Transient analysis failures (unreadable, vanished, timeout, worker_crash, out_of_memory) lose nothing:
-- a file keeps the facts it had, its attempts are counted in analysis_retries, analysis_claim takes it
-- again until midi.analysis_max_attempts() attempts, and gives it up after; only what the bytes say
-- (facts, or an error such as parse_failed) replaces earlier facts and ends the retrying.
BEGIN;
SELECT plan(22);

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes)
VALUES (9601, 'kept.mid', '/r/kept.mid', decode(repeat('61', 32), 'hex'), 100),
       (9602, 'new.mid', '/r/new.mid', decode(repeat('62', 32), 'hex'), 100),
       (9603, 'broken.mid', '/r/broken.mid', decode(repeat('63', 32), 'hex'), 100),
       (9604, 'never.mid', '/r/never.mid', decode(repeat('64', 32), 'hex'), 100);

SELECT ok(midi.analysis_transient('unreadable') AND midi.analysis_transient('vanished') AND midi.analysis_transient('timeout')
          AND midi.analysis_transient('worker_crash') AND midi.analysis_transient('out_of_memory')
          AND NOT midi.analysis_transient('parse_failed') AND NOT midi.analysis_transient('not_midi')
          AND NOT midi.analysis_transient('rejected') AND NOT midi.analysis_transient(NULL),
          'transient classes: what the bytes do not say');
SELECT is(midi.analysis_max_attempts(), 3, 'three attempts by default');

-- first run (version 1): 9601 analyzes, 9603's bytes fail, 9604 cannot be read
INSERT INTO midi.analysis_staging (batch, file_id, error_class, message, parser, duration_ticks, duration_seconds, bpm,
    bpm_source, total_notes, drum_note_count, instruments, pitch_class_histogram)
VALUES (1, 9601, NULL, NULL, 'symusic', 960, 2.0, 100, 'meta', 4, 0,
        '[{"channel":0,"program":5,"is_drum":false,"note_count":4,"name":""}]', '{1,0,0,0,0,0,0,0,0,0,0,0}'),
       (1, 9603, 'parse_failed', 'symusic: no; mido: no', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
       (1, 9604, 'unreadable', '/r/never.mid: Permission denied', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq('SELECT analyzed, errors FROM midi.analysis_apply(1, 1)', $$VALUES (1, 2)$$, 'first run');
SELECT is((SELECT error_class FROM midi.analysis_errors WHERE file_id = 9604), 'unreadable',
          'a file read for the first time and unreadable is accounted for in analysis_errors');
SELECT ok((SELECT analyzed_at IS NULL AND analyzer_version IS NULL FROM midi.files WHERE id = 9604),
          'but it is not stamped analyzed: nothing conclusive is known');

-- second run (version 2, a new analyzer): every file needs analysis again; this time 9601 vanished,
-- 9603 times out, 9604 crashes the worker
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9600, 10, 2)$$,
                  $$VALUES (9601::bigint), (9602), (9603), (9604)$$, 'version 2 claims all four');
INSERT INTO midi.analysis_staging (batch, file_id, error_class, message)
VALUES (2, 9601, 'vanished', '/r/kept.mid: no longer exists'), (2, 9603, 'timeout', 'no result after 30 s'),
       (2, 9604, 'worker_crash', 'worker died (SIGSEGV)');
SELECT results_eq('SELECT analyzed, errors FROM midi.analysis_apply(2, 2)', $$VALUES (0, 3)$$, 'second run: three transient failures');
SELECT ok((SELECT m.bpm = 100 AND f.analyzer_version = 1 AND f.duration_ticks = 960
             FROM midi.musical_metadata m JOIN midi.files f ON f.id = m.file_id WHERE m.file_id = 9601)
          AND EXISTS (SELECT 1 FROM midi.file_instruments WHERE file_id = 9601 AND program = 5)
          AND NOT EXISTS (SELECT 1 FROM midi.analysis_errors WHERE file_id = 9601),
          'a vanished file keeps its facts, instruments and stamp, and stays out of analysis_errors');
SELECT is((SELECT error_class || ' ' || message FROM midi.analysis_errors WHERE file_id = 9603),
          'parse_failed symusic: no; mido: no', 'a timeout does not replace the error its bytes caused');
SELECT is((SELECT error_class FROM midi.analysis_errors WHERE file_id = 9604), 'worker_crash',
          'a file with no conclusion shows its latest transient failure');
SELECT results_eq($$SELECT file_id, error_class, attempts FROM midi.analysis_retries ORDER BY 1$$,
                  $$VALUES (9601::bigint, 'vanished', 1), (9603, 'timeout', 1), (9604, 'worker_crash', 2)$$,
                  'each attempt is counted');

-- the next runs take them again, until three attempts; a file analyzed by version 2 is not retried
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9600, 10, 2)$$,
                  $$VALUES (9601::bigint), (9602), (9603), (9604)$$, 'all retried while under the limit');
INSERT INTO midi.analysis_staging (batch, file_id, error_class, message)
VALUES (3, 9601, 'unreadable', 'I/O error'), (3, 9603, 'timeout', 'no result after 30 s'),
       (3, 9604, 'worker_crash', 'worker died (SIGABRT)');
SELECT results_eq('SELECT analyzed, errors FROM midi.analysis_apply(3, 2)', $$VALUES (0, 3)$$, 'third run');
SELECT results_eq($$SELECT file_id, attempts FROM midi.analysis_retries ORDER BY 1$$,
                  $$VALUES (9601::bigint, 2), (9603, 2), (9604, 3)$$, 'counted again');
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9600, 10, 2)$$,
                  $$VALUES (9601::bigint), (9602), (9603)$$, '9604 is given up after three attempts');
SELECT is(midi.analysis_pending(2), 3::bigint, 'analysis_pending counts what the claim takes');
SET LOCAL midi.analysis_max_attempts = 5;
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9600, 10, 2)$$,
                  $$VALUES (9601::bigint), (9602), (9603), (9604)$$, 'a higher limit (setting midi.analysis_max_attempts) takes it again');
RESET midi.analysis_max_attempts;
SELECT results_eq($$SELECT file_id FROM midi.analysis_claim(9600, 10, 2, clock_timestamp())$$,
                  $$VALUES (9601::bigint), (9602), (9603), (9604)$$, '--reanalyze takes given-up files too');

-- a conclusive answer ends the retrying: 9601 readable again, 9604's bytes turn out not to be MIDI
INSERT INTO midi.analysis_staging (batch, file_id, error_class, message, parser, duration_ticks, duration_seconds, bpm,
    bpm_source, total_notes, drum_note_count, instruments, pitch_class_histogram)
VALUES (4, 9601, NULL, NULL, 'symusic', 480, 1.0, 90, 'meta', 2, 0, '[]', '{0,0,1,0,0,0,0,0,0,0,0,0}'),
       (4, 9604, 'not_midi', 'no MThd header', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq('SELECT analyzed, errors FROM midi.analysis_apply(4, 2)', $$VALUES (1, 1)$$, 'fourth run');
SELECT ok((SELECT m.bpm = 90 AND f.analyzer_version = 2 FROM midi.musical_metadata m JOIN midi.files f ON f.id = m.file_id
            WHERE m.file_id = 9601)
          AND (SELECT error_class FROM midi.analysis_errors WHERE file_id = 9604) = 'not_midi',
          'what the bytes say replaces the facts and the transient error');
SELECT results_eq($$SELECT file_id FROM midi.analysis_retries$$, $$VALUES (9603::bigint)$$,
                  'and ends the retry record');
SELECT is((SELECT count(*)::int FROM midi.files f
            WHERE (SELECT count(*) FROM midi.musical_metadata m WHERE m.file_id = f.id)
                + (SELECT count(*) FROM midi.analysis_errors e WHERE e.file_id = f.id) <> 1 AND f.id <> 9602), 0,
          'every file that went through analysis is in exactly one of musical_metadata and analysis_errors');

SELECT * FROM finish();
ROLLBACK;
