-- Rollback of 0008_key_paths_by_digest.
-- The (path, path_bytes) keys come back as they were; a catalog holding a path too long for a btree
-- entry cannot go back past this migration (the ALTER TABLE fails and nothing is rolled back).
DROP INDEX midi.idx_files_filepath;
CREATE INDEX idx_files_filepath ON midi.files (filepath);
DROP INDEX midi.import_errors_path_key;
ALTER TABLE midi.import_errors ADD CONSTRAINT import_errors_path_key UNIQUE NULLS NOT DISTINCT (path, path_bytes);
DROP INDEX midi.file_paths_path_key;
ALTER TABLE midi.file_paths ADD CONSTRAINT file_paths_path_key UNIQUE NULLS NOT DISTINCT (path, path_bytes);
DROP FUNCTION midi.path_digest(text, bytea);
DROP FUNCTION midi.path_head(text);
