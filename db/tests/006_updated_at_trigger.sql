-- updated_at moves on a real update and stays on a no-op update.
BEGIN;
SELECT plan(3);
INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, updated_at)
VALUES (1, 'a.mid', '/a.mid', decode(repeat('02', 32), 'hex'), 10, '2000-01-01');
UPDATE midi.files SET file_size_bytes = file_size_bytes WHERE id = 1;
SELECT is((SELECT updated_at FROM midi.files WHERE id = 1), '2000-01-01'::timestamptz, 'a no-op update keeps updated_at');
UPDATE midi.files SET manufacturer = 'X' WHERE id = 1;
SELECT is((SELECT updated_at FROM midi.files WHERE id = 1), now(), 'a real update stamps updated_at');
INSERT INTO midi.musical_metadata (file_id, bpm, updated_at) VALUES (1, 120, '2000-01-01');
UPDATE midi.musical_metadata SET bpm = 121 WHERE file_id = 1;
SELECT is((SELECT updated_at FROM midi.musical_metadata WHERE file_id = 1), now(), 'metadata updated_at too');
SELECT * FROM finish();
ROLLBACK;
