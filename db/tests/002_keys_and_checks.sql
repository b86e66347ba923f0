-- Primary keys, foreign keys and range checks of the contract hold: bad rows are refused.
BEGIN;
SELECT plan(30);

SELECT col_is_pk('midi', 'files', 'id', 'files.id is the primary key');
SELECT col_is_pk('midi', 'file_paths', 'id', 'file_paths.id is the primary key');
SELECT col_is_pk('midi', 'import_batches', 'id', 'import_batches.id is the primary key');
SELECT col_is_pk('midi', 'import_errors', 'id', 'import_errors.id is the primary key');
SELECT col_is_pk('midi', 'analysis_errors', 'file_id', 'analysis_errors.file_id is the primary key');
SELECT col_is_pk('midi', 'musical_metadata', 'file_id', 'musical_metadata.file_id is the primary key');
SELECT is((SELECT indisunique AND indnullsnotdistinct FROM pg_index WHERE indexrelid = 'midi.file_instruments_part_key'::regclass),
          true, 'file_instruments: one row per (file, channel, program, drum flag), unknown channel or program compared as equal');
SELECT col_is_pk('midi', 'file_categories', 'file_id', 'file_categories.file_id is the primary key');
SELECT col_is_pk('midi', 'file_tags', ARRAY['file_id', 'tag_id'], 'file_tags key');
SELECT col_is_pk('midi', 'favorites', 'file_id', 'favorites.file_id is the primary key');
SELECT fk_ok('midi', 'file_paths', 'file_id', 'midi', 'files', 'id', 'file_paths -> files');
SELECT fk_ok('midi', 'musical_metadata', 'file_id', 'midi', 'files', 'id', 'musical_metadata -> files');
SELECT fk_ok('midi', 'file_tags', 'tag_id', 'midi', 'tags', 'id', 'file_tags -> tags');
SELECT fk_ok('midi', 'import_errors', 'batch_id', 'midi', 'import_batches', 'id', 'import_errors -> import_batches');
SELECT col_is_unique('midi', 'tags', 'name', 'tag names are unique');

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes)
VALUES (1, 'a.mid', '/x/a.mid', decode(repeat('ab', 32), 'hex'), 100);

SELECT throws_ok($$INSERT INTO midi.files (filename, filepath, content_hash, file_size_bytes)
                   VALUES ('b.mid', '/x/b.mid', decode(repeat('ab', 32), 'hex'), 1)$$,
                 '23505', NULL, 'content_hash is unique');
SELECT throws_ok($$INSERT INTO midi.files (filename, filepath, content_hash, file_size_bytes)
                   VALUES ('b.mid', '/x/b.mid', '\x01', 1)$$, '23514', NULL, 'content_hash must be 32 bytes');
SELECT throws_ok($$UPDATE midi.files SET format = 3 WHERE id = 1$$, '23514', NULL, 'format is 0..2');
SELECT lives_ok($$UPDATE midi.files SET format = 2 WHERE id = 1$$, 'format 2 is fine');
SELECT throws_ok($$UPDATE midi.files SET file_size_bytes = -1 WHERE id = 1$$, '23514', NULL, 'size >= 0');
SELECT throws_ok($$INSERT INTO midi.musical_metadata (file_id, bpm) VALUES (1, 0)$$, '23514', NULL, 'bpm >= 1');
SELECT throws_ok($$INSERT INTO midi.musical_metadata (file_id, bpm) VALUES (1, 1000.5)$$, '23514', NULL, 'bpm <= 1000');
SELECT throws_ok($$INSERT INTO midi.musical_metadata (file_id, pitch_range_min) VALUES (1, 128)$$,
                 '23514', NULL, 'pitch is 0..127');
SELECT throws_ok($$INSERT INTO midi.musical_metadata (file_id, pitch_range_min, pitch_range_max) VALUES (1, 70, 60)$$,
                 '23514', NULL, 'pitch min <= max');
SELECT throws_ok($$INSERT INTO midi.musical_metadata (file_id, time_signature_denominator) VALUES (1, 3)$$,
                 '23514', NULL, 'time signature denominator is a power of two');
SELECT lives_ok($$INSERT INTO midi.musical_metadata (file_id, bpm, pitch_range_min, pitch_range_max)
                  VALUES (1, 124.5, 0, 127)$$, 'a valid metadata row is taken');
SELECT throws_ok($$INSERT INTO midi.file_instruments (file_id, channel, program) VALUES (1, 16, 0)$$,
                 '23514', NULL, 'channel is 0..15');
SELECT throws_ok($$INSERT INTO midi.musical_metadata (file_id) VALUES (999)$$, '23503', NULL,
                 'metadata needs an existing file');
SELECT throws_ok($$INSERT INTO midi.tags (name) VALUES ('Bass')$$, '23514', NULL, 'tag names are lower case');

DELETE FROM midi.files WHERE id = 1;
SELECT is((SELECT count(*) FROM midi.musical_metadata WHERE file_id = 1), 0::bigint,
          'deleting a file cascades to its metadata');

SELECT * FROM finish();
ROLLBACK;
