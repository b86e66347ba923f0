-- Every SQL statement the runner sends, each under a "-- name:" header. Most are one-line calls of
-- the versioned functions in db/functions; the logic stays in PostgreSQL.

-- name: server_version  the server's version number, for the status line
SELECT current_setting('server_version_num')::int AS version_num, version() AS version

-- name: schema_exists  whether the midi schema is there at all
SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'midi') AS present

-- name: import_begin  open an import batch for the given roots
SELECT midi.import_begin(%s::text[], %s)

-- name: import_merge  merge one COPY-staged chunk; returns (files_seen, files_new, duplicates, errors)
SELECT files_seen, files_new, duplicates, errors FROM midi.import_merge(%s, %s)

-- name: import_finish  close a batch with its count of non-MIDI files, optionally pruning unseen paths
SELECT * FROM midi.import_finish(%s, %s, %s)

-- name: catalog_size  the planner's row count of midi.files (-1 when never analyzed)
SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = 'midi.files'::regclass

-- name: import_analyze  refresh planner statistics of the tables an import grows
ANALYZE midi.files, midi.file_paths

-- name: import_async_commit  chunk commits of an (idempotent, resumable) import need not wait for the WAL flush
SET LOCAL synchronous_commit = off
