-- Every SQL statement the runner sends, each under a "-- name:" header. Most are one-line calls of
-- the versioned functions in db/functions; the logic stays in PostgreSQL.

-- name: server_version  the server's version number, for the status line
SELECT current_setting('server_version_num')::int AS version_num, version() AS version

-- name: schema_exists  whether the midi schema is there at all
SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'midi') AS present
