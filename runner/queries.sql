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

-- name: demo_manufacturers  the biggest manufacturers in the catalog
SELECT manufacturer, count(*) AS files, count(DISTINCT collection_name) AS collections
FROM midi.files WHERE manufacturer IS NOT NULL GROUP BY manufacturer ORDER BY files DESC, manufacturer LIMIT 5

-- name: demo_filename_keys  keys stated by file names
SELECT filename_key::text AS key, count(*) AS files FROM midi.files
WHERE filename_key IS NOT NULL GROUP BY filename_key ORDER BY files DESC LIMIT 6

-- name: demo_question  C-minor bass loops between 120 and 128 BPM, by what their names say
SELECT filename, manufacturer, filename_bpm AS bpm, filename_key::text AS key FROM midi.files
WHERE filename_key = 'Cm' AND filename_bpm BETWEEN 120 AND 128
  AND search_vector @@ to_tsquery('midi.names', 'bass')
ORDER BY filename LIMIT 5
