-- Paths of any length: a btree entry cannot exceed ~2.7 kB, so (path, path_bytes) as a unique key refused
-- long paths (a 3,000-byte path, a zip member with a long name). The keys of file_paths and import_errors
-- become (path_head, path_digest): the path itself when it is short and valid UTF-8, else a bounded prefix
-- plus a SHA-256 of its exact bytes; files.filepath gets a hash index. Paths are still stored in full.
-- depends: 0007_add_analysis_facts

/* path_head, path_digest: the unique key of a stored location, (path_head(path), path_digest(path,
   path_bytes)). A path that is valid UTF-8 and at most 2,048 bytes long (nearly all of them) is its own
   key: (path, '') costs no more than the (path, path_bytes) key it replaces. Any other location is keyed
   by its first 512 characters and the SHA-256 of its exact bytes (path_bytes when the name is not valid
   UTF-8, else the UTF-8 bytes of path), so the key always fits a btree entry. Two rows have the same key
   exactly when they have the same (path, path_bytes), and path_head keeps every path under a folder in
   one index range (prune). decode(..., 'escape') with every backslash doubled is the text's bytes
   unchanged, written with immutable functions only (convert_to is merely stable), and neither function is
   STRICT (a STRICT function whose body is a CASE is not inlined), so both are inlined into the queries
   and index expressions that use them: a function call per row would cost more than the key itself. They live in a migration because unique
   indexes are built on them: they must never change without a migration that rebuilds those indexes. */
CREATE FUNCTION midi.path_head(path text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(path) <= 2048 THEN path ELSE left(path, 512) END
$$;
COMMENT ON FUNCTION midi.path_head(text) IS
    'A path up to 2,048 bytes, else its first 512 characters: the leading, range-searchable column of the path unique keys';

CREATE FUNCTION midi.path_digest(path text, path_bytes bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN path_bytes IS NULL AND octet_length(path) <= 2048 THEN '\x'::bytea
                ELSE sha256(coalesce(path_bytes, decode(replace(path, '\', '\\'), 'escape'))) END
$$;
COMMENT ON FUNCTION midi.path_digest(text, bytea) IS
    'Empty for a valid UTF-8 path up to 2,048 bytes, else the SHA-256 of the location''s exact bytes: the second column of the path unique keys';

ALTER TABLE midi.file_paths DROP CONSTRAINT file_paths_path_key;
CREATE UNIQUE INDEX file_paths_path_key ON midi.file_paths (midi.path_head(path), midi.path_digest(path, path_bytes));
COMMENT ON INDEX midi.file_paths_path_key IS
    'One row per location: import_merge''s ON CONFLICT on file_paths; import_finish''s prune (paths under a root: a range of path_head)';

ALTER TABLE midi.import_errors DROP CONSTRAINT import_errors_path_key;
CREATE UNIQUE INDEX import_errors_path_key ON midi.import_errors (midi.path_head(path), midi.path_digest(path, path_bytes));
COMMENT ON INDEX midi.import_errors_path_key IS
    'One error row per location: import_merge''s ON CONFLICT and its removal of errors a path no longer has; import_finish''s prune of stale errors under a root';

-- The seed's index on files.filepath, as a hash index: equality lookups of a file by its path, for any
-- path length (a btree entry cannot hold a long path).
DROP INDEX midi.idx_files_filepath;
CREATE INDEX idx_files_filepath ON midi.files USING hash (filepath);
COMMENT ON INDEX midi.idx_files_filepath IS
    'The seed''s idx_files_filepath: files WHERE filepath = $1 (a file looked up by its canonical path)';
