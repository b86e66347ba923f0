-- Paths of any length: the unique keys of file_paths and import_errors become a bounded prefix of the
-- path plus a SHA-256 digest of its exact bytes, and files.filepath gets a hash index. A btree entry
-- cannot exceed ~2.7 kB, so (path, path_bytes) as a key refused long paths (a 3,000-byte path, a zip
-- member with a long name); the path itself is still stored in full.
-- depends: 0007_add_analysis_facts

/* path_key: the identity of a stored location as 32 bytes: SHA-256 of its exact bytes (path_bytes
   when the name is not valid UTF-8, else the UTF-8 bytes of path). Two rows have the same key exactly
   when they have the same (path, path_bytes). decode(..., 'escape') with every backslash doubled is the
   text's bytes unchanged, written with immutable functions only (convert_to is merely stable), so this
   function is inlined into the queries and index expressions that use it. It lives in a migration
   because unique indexes are built on it: it must never change without a migration that rebuilds them. */
CREATE FUNCTION midi.path_key(path text, path_bytes bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(coalesce(path_bytes, decode(replace(path, '\', '\\'), 'escape')))
$$;
COMMENT ON FUNCTION midi.path_key(text, bytea) IS
    'SHA-256 of a location''s exact bytes: the unique key of file_paths and import_errors (with path_prefix)';

/* path_prefix: the first 512 characters of a path (at most 2,048 bytes, so it always fits in a btree
   entry next to a path_key). It leads the unique indexes so that every path under a root is one index
   range (prune, stale error rows) and entries of one folder sit together. In a migration for the same
   reason as path_key. */
CREATE FUNCTION midi.path_prefix(path text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT left(path, 512)
$$;
COMMENT ON FUNCTION midi.path_prefix(text) IS
    'First 512 characters of a path: the leading, range-searchable column of the path unique indexes';

ALTER TABLE midi.file_paths DROP CONSTRAINT file_paths_path_key;
CREATE UNIQUE INDEX file_paths_path_key ON midi.file_paths (midi.path_prefix(path), midi.path_key(path, path_bytes));
COMMENT ON INDEX midi.file_paths_path_key IS
    'One row per location: import_merge''s ON CONFLICT on file_paths; import_finish''s prune (paths under a root, a range of path_prefix)';

ALTER TABLE midi.import_errors DROP CONSTRAINT import_errors_path_key;
CREATE UNIQUE INDEX import_errors_path_key ON midi.import_errors (midi.path_prefix(path), midi.path_key(path, path_bytes));
COMMENT ON INDEX midi.import_errors_path_key IS
    'One error row per location: import_merge''s ON CONFLICT and its removal of errors a path no longer has; import_finish''s prune of stale errors under a root';

-- The seed's index on files.filepath, as a hash index: equality lookups of a file by its path, for any
-- path length (a btree entry cannot hold a long path).
DROP INDEX midi.idx_files_filepath;
CREATE INDEX idx_files_filepath ON midi.files USING hash (filepath);
COMMENT ON INDEX midi.idx_files_filepath IS
    'The seed''s idx_files_filepath: files WHERE filepath = $1 (a file looked up by its canonical path)';
