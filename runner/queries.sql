-- Every SQL statement the runner sends, each under a "-- name:" header. Most are one-line calls of
-- the versioned functions in db/functions; the logic stays in PostgreSQL.

-- name: server_version  the server's version number, for the status line
SELECT current_setting('server_version_num')::int AS version_num, version() AS version

-- name: schema_exists  whether the midi schema is there at all
SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'midi') AS present

-- name: schema_exists_writable  whether the midi schema is there, and whether this server is a hot standby or this session read-only
SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'midi') AS present, pg_is_in_recovery() AS standby,
       current_setting('transaction_read_only')::boolean AS read_only

-- name: import_begin  open an import batch for the given roots
SELECT midi.import_begin(%s::text[], %s)

-- name: import_mark_interrupted  batches left running by an import whose process is gone become interrupted
SELECT * FROM midi.import_mark_interrupted()

-- name: import_hold  hold the new batch's advisory lock for this connection's lifetime (proof the import lives)
SELECT midi.import_hold(%s)

-- name: import_merge  merge one COPY-staged chunk; returns (files_seen, files_new, duplicates, errors)
SELECT files_seen, files_new, duplicates, errors FROM midi.import_merge(%s, %s)

-- name: import_finish  close a batch with its count of non-MIDI files, optionally pruning unseen paths
SELECT * FROM midi.import_finish(%s, %s, %s)

-- name: catalog_size  the planner's row count of midi.files (-1 when never analyzed)
SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = 'midi.files'::regclass

-- name: statistics_sample  in-run ANALYZE only tells the planner how big the tables grew: a small sample does
SET LOCAL default_statistics_target = 10

-- name: import_analyze  refresh planner statistics of the tables an import grows
ANALYZE midi.files, midi.file_paths

-- name: analysis_other_runner  is another analysis running on this database (its claim and apply sessions)?
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity
                WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid())

-- name: flush_statistics  hand this session's pending table counters to the server now, so pg_stat_user_tables shows what it changed (a session otherwise flushes them at most once a second, or when it ends, after the client has gone on)
SELECT pg_stat_force_next_flush()

-- name: import_statistics_stale  are the planner statistics of the tables an import grows missing or stale (over 1,000 rows, never analyzed or a fifth changed since: the profile's rule)?
SELECT coalesce(bool_or(s.n_live_tup > 1000 AND (coalesce(s.last_analyze, s.last_autoanalyze) IS NULL
                                                 OR s.n_mod_since_analyze > 0.2 * s.n_live_tup)), false)
  FROM pg_catalog.pg_stat_user_tables s
 WHERE s.relid IN ('midi.files'::regclass, 'midi.file_paths'::regclass)

-- name: import_async_commit  chunk commits of an (idempotent, resumable) import need not wait for the WAL flush
SET LOCAL synchronous_commit = off

-- name: bulk_lock  may this role drop and build the search indexes (it owns files), and is no other bulk load running? (takes the lock)
SELECT pg_has_role(current_user, c.relowner, 'USAGE') AS allowed,
       CASE WHEN pg_has_role(current_user, c.relowner, 'USAGE') THEN pg_try_advisory_lock(midi.bulk_lock_key()) ELSE false END AS locked
FROM pg_class c WHERE c.oid = 'midi.files'::regclass

-- name: bulk_deferred  the indexes a bulk load dropped and that are still to build, the costliest builds first
SELECT name FROM midi.deferred_indexes
ORDER BY definition ~ ' USING gin ' DESC, definition ~ '\(midi\.' DESC, length(definition) DESC, name

-- name: bulk_defer  record the deferrable indexes before dropping them; every index now recorded as deferred
SELECT name, table_name FROM midi.defer_indexes(%s)

-- name: bulk_drop_timeout  how long one DROP INDEX CONCURRENTLY may wait for other sessions
SELECT set_config('statement_timeout', %s, false)

-- name: bulk_build_memory  memory of one index build (this transaction)
SELECT set_config('maintenance_work_mem', %s, true)

-- name: bulk_restore  build one deferred index again (present, built or busy)
SELECT midi.restore_index(%s)

-- name: demo_manufacturers  the biggest manufacturers in the catalog
SELECT manufacturer, count(*) AS files, count(DISTINCT collection_name) AS collections
FROM midi.files WHERE manufacturer IS NOT NULL GROUP BY manufacturer ORDER BY files DESC, manufacturer LIMIT 5

-- name: demo_filename_keys  keys stated by file names
SELECT filename_key::text AS key, count(*) AS files FROM midi.files
WHERE filename_key IS NOT NULL GROUP BY filename_key ORDER BY files DESC LIMIT 6

-- name: demo_question  C-minor bass loops between 120 and 128 BPM, through the search API
SELECT filename, manufacturer, bpm, key, category
FROM midi.search(q => 'bass', bpm_min => 120, bpm_max => 128, keys => '{Cm}', lim => 5)

-- name: analysis_now  the server's clock: files analyzed before it are taken again by --reanalyze
SELECT clock_timestamp()

-- name: analysis_pending  how many files an analysis run would take
SELECT midi.analysis_pending(%s, %s)

-- name: analysis_next_batch  a fresh batch number for analysis_staging
SELECT midi.analysis_next_batch()

-- name: analysis_claim  lock the next files needing analysis (keyset after an id, SKIP LOCKED); their paths
SELECT file_id, paths, paths_bytes, suspect, content_hash FROM midi.analysis_claim(%s, %s, %s, %s)

-- name: analysis_max_attempts  this session's limit of transient failures in a row before a file is given up
SELECT set_config('midi.analysis_max_attempts', %s, false)

-- name: analysis_apply  apply one COPY-staged analysis batch; returns (analyzed, errors)
SELECT analyzed, errors FROM midi.analysis_apply(%s, %s)

-- name: analysis_finish  end of an analysis run: refresh the facet views
SELECT midi.analysis_finish()

-- name: analysis_statistics  refresh planner statistics of the child tables an analysis grows (files keeps its size)
ANALYZE midi.musical_metadata, midi.file_instruments, midi.file_categories, midi.file_tags

-- ---------------------------------------------------------------------------------------------------
-- midicenter profile (runner/profile.py): read-only health report. Every statement below only reads;
-- the report runs them inside one READ ONLY transaction.

-- name: profile_session  who and where we are, and proof that the transaction cannot write
SELECT current_setting('transaction_read_only') AS read_only,
       current_user::text AS role, current_database()::text AS database,
       current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       pg_backend_pid() AS pid,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,
       inet_server_addr()::text AS server_addr,
       EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'midi') AS has_midi_schema

-- name: profile_database  size, cache hits and age of the statistics of the current database
SELECT pg_database_size(current_database()) AS size_bytes,
       current_setting('block_size')::int AS block_size,
       (SELECT setting::bigint FROM pg_settings WHERE name = 'shared_buffers') AS shared_buffers_blocks,
       d.blks_hit, d.blks_read, d.xact_commit, d.xact_rollback, d.deadlocks, d.temp_files, d.temp_bytes,
       d.stats_reset,
       (SELECT pg_postmaster_start_time()) AS server_started
FROM pg_stat_database d
WHERE d.datname = current_database()

-- name: profile_tables  every user table and materialized view: rows, sizes, dead tuples, (auto)vacuum and analyze
SELECT s.schemaname::text AS schema, s.relname::text AS name, c.relkind::text AS kind,
       s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows, greatest(c.reltuples, -1)::float8 AS planner_rows,
       s.n_mod_since_analyze AS modified_since_analyze,
       pg_relation_size(c.oid) AS table_bytes, pg_indexes_size(c.oid) AS index_bytes,
       pg_total_relation_size(c.oid) AS total_bytes,
       s.seq_scan, s.seq_tup_read, s.idx_scan, s.n_tup_ins, s.n_tup_upd, s.n_tup_del,
       io.heap_blks_hit, io.heap_blks_read,
       s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
       s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count,
       CASE WHEN c.relkind = 'm' THEN (SELECT m.ispopulated FROM pg_matviews m
                                        WHERE m.schemaname = s.schemaname AND m.matviewname = s.relname) END AS populated
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid
LEFT JOIN pg_statio_user_tables io ON io.relid = s.relid
ORDER BY s.schemaname, pg_total_relation_size(c.oid) DESC, s.relname

-- name: profile_indexes  every user index: size, scans, validity, what it backs, and its key for duplicate checks
SELECT n.nspname::text AS schema, t.relname::text AS table_name, c.relname::text AS name,
       am.amname::text AS method, pg_relation_size(c.oid) AS size_bytes,
       coalesce(s.idx_scan, 0) AS scans, s.idx_tup_read AS tuples_read,
       io.idx_blks_hit AS blks_hit, io.idx_blks_read AS blks_read,
       i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS is_valid,
       i.indisready AS is_ready, i.indislive AS is_live,
       con.conname::text AS constraint_name,
       pg_get_indexdef(c.oid) AS definition, pg_get_indexdef(c.oid, 1, true) AS leading_column,
       i.indrelid::bigint AS table_oid, i.indkey::text AS key_columns, i.indclass::text AS key_opclasses,
       i.indcollation::text AS key_collations, i.indoption::text AS key_options, i.indnkeyatts AS key_count,
       pg_get_expr(i.indexprs, i.indrelid) AS key_expressions, pg_get_expr(i.indpred, i.indrelid) AS predicate,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
LEFT JOIN pg_statio_all_indexes io ON io.indexrelid = i.indexrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
ORDER BY n.nspname, t.relname, c.relname

-- name: profile_foreign_keys  every foreign key of user tables: its table, columns (names and numbers) and target
SELECT c.conrelid::bigint AS table_oid, c.conrelid::regclass::text AS table_name, c.conname::text AS constraint_name,
       tn.nspname::text AS schema, t.relname::text AS table, c.confrelid::regclass::text AS references,
       array_agg(a.attname::text ORDER BY k.ord) AS columns, array_agg(k.attnum::int ORDER BY k.ord) AS attnums
FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
GROUP BY c.conrelid, c.conname, c.confrelid, tn.nspname, t.relname
ORDER BY 2, 3

-- name: profile_row_count  exact row count of one small table ({table} is a catalog name, quoted as an identifier)
SELECT count(*) FROM {table}

-- name: profile_statements_extension  where pg_stat_statements is installed (if at all) and whether it is preloaded (NULL: hidden from this role)
SELECT (SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements') AS schema,
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS available,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload

-- name: profile_statements_top  pg_stat_statements of this database, top N by {order} ({schema} = the extension's schema)
SELECT s.queryid, s.calls, s.total_exec_time AS total_ms, s.mean_exec_time AS mean_ms, s.rows,
       s.shared_blks_hit, s.shared_blks_read, r.rolname::text AS role,
       left(regexp_replace(s.query, '\s+', ' ', 'g'), %(width)s) AS query
FROM {schema}.pg_stat_statements s
LEFT JOIN pg_roles r ON r.oid = s.userid
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY {order} DESC
LIMIT %(top)s

-- name: profile_activity  client connections of the whole server by database and state (other roles' sessions show as hidden without pg_read_all_stats)
SELECT coalesce(datname::text, '') AS database, coalesce(state, 'hidden') AS state, count(*) AS connections,
       count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_on_locks
FROM pg_stat_activity
WHERE (backend_type = 'client backend' OR (backend_type IS NULL AND usename IS NOT NULL)) AND pid <> pg_backend_pid()
GROUP BY 1, 2
ORDER BY 1, 3 DESC

-- name: profile_long_running  statements running, or transactions open, longer than the given seconds
SELECT pid, coalesce(datname::text, '') AS database, coalesce(usename::text, '') AS role,
       coalesce(application_name, '') AS application, state,
       extract(epoch FROM now() - query_start)::float8 AS query_seconds,
       extract(epoch FROM now() - xact_start)::float8 AS transaction_seconds,
       wait_event_type, left(regexp_replace(query, '\s+', ' ', 'g'), 200) AS query
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND ((state = 'active' AND query_start < now() - %(seconds)s * interval '1 second')
       OR (state LIKE 'idle in transaction%%' AND xact_start < now() - %(seconds)s * interval '1 second'))
ORDER BY coalesce(xact_start, query_start)

-- name: profile_connection_limits  how many client connections the server allows and how many are in use
SELECT current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved,
       coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend' OR (backend_type IS NULL AND usename IS NOT NULL))::int AS in_use

-- name: profile_settings  the server settings that matter for this workload, with their size in bytes
SELECT name, current_setting(name) AS value, setting, unit, source, context, pending_restart,
       CASE WHEN unit IN ('B', 'kB', '8kB', 'MB', '16MB', 'GB', 'TB')
            THEN setting::numeric * pg_size_bytes(CASE WHEN unit ~ '^[0-9]' THEN unit ELSE '1' || unit END)
       END::float8 AS bytes
FROM pg_settings
WHERE name = ANY (%s)
ORDER BY name

-- name: profile_functions_present  which of the given midi.* functions exist
SELECT DISTINCT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'midi' AND p.proname = ANY (%s)

-- name: profile_sample  parameters for the canonical calls, taken from the library itself (newest 20,000 files)
SELECT coalesce((SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM midi.files ORDER BY id LIMIT 10) s), '{}') AS ids,
       coalesce((SELECT max(id) FROM midi.files), 0) AS max_id,
       coalesce((SELECT array_agg(manufacturer ORDER BY n DESC, manufacturer)
                   FROM (SELECT manufacturer, count(*) AS n
                           FROM (SELECT manufacturer FROM midi.files ORDER BY id DESC LIMIT 20000) f
                          WHERE manufacturer IS NOT NULL GROUP BY manufacturer ORDER BY n DESC, manufacturer LIMIT 20) m),
                '{}') AS makers,
       coalesce((SELECT array_agg(name ORDER BY id) FROM (SELECT id, name FROM midi.tags ORDER BY id LIMIT 60) t), '{}') AS tags

-- name: profile_words  rare and common file-name words of the newest 20,000 files (parameters for the canonical calls)
WITH w AS (
    SELECT x.word, count(DISTINCT f.id) AS ndoc
      FROM (SELECT id, filename FROM midi.files ORDER BY id DESC LIMIT 20000) f
     CROSS JOIN LATERAL regexp_split_to_table(lower(midi.name_words(f.filename)), '\s+') AS x(word)
     WHERE x.word ~ '^[a-z]{4,}$'
     GROUP BY x.word)
SELECT coalesce((SELECT array_agg(word ORDER BY word)
                   FROM (SELECT word FROM w WHERE ndoc <= 2 ORDER BY md5(word) LIMIT 40) r), '{}') AS rare,
       coalesce((SELECT array_agg(word ORDER BY ndoc DESC, word)
                   FROM (SELECT word, ndoc FROM w ORDER BY ndoc DESC, word LIMIT 12) c), '{}') AS common

-- name: profile_xact_scans  scans this transaction made so far of every midi relation (index scans of an index, sequential scans of a table)
SELECT c.relname::text AS name, c.relkind::text AS kind, pg_stat_get_xact_numscans(c.oid) AS scans
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'midi' AND c.relkind IN ('r', 'i', 'm', 'p')

-- name: profile_explain  EXPLAIN ANALYZE of one canonical call ({query} is one of runner/canonical.py's calls)
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}

-- name: profile_auto_explain_load  load auto_explain into this session (superuser only), to see plans inside API functions
LOAD 'auto_explain'

-- name: profile_auto_explain_on  for this transaction: send the plans of statements run inside functions to the client
SELECT set_config('auto_explain.log_min_duration', '0', true), set_config('auto_explain.log_nested_statements', 'on', true),
       set_config('auto_explain.log_analyze', 'on', true), set_config('auto_explain.log_buffers', 'on', true),
       set_config('auto_explain.log_format', 'json', true), set_config('auto_explain.log_level', 'notice', true)

-- name: profile_auto_explain_off  stop sending plans (the rest of the transaction)
SELECT set_config('auto_explain.log_min_duration', '-1', true)

-- name: profile_prefer_indexes  for this transaction: make sequential scans look expensive and allow every index scan (does the index serve the query at all?)
SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'on', true),
       set_config('enable_bitmapscan', 'on', true), set_config('enable_indexonlyscan', 'on', true)

-- name: profile_migrations_table  yoyo's record of applied migrations, if this role can see it
SELECT to_regclass('_yoyo_migration')::text

-- name: profile_migrations_applied  the migrations yoyo applied ({table} = its record table, a catalog name)
SELECT migration_id FROM {table}

-- name: profile_trgm_schema  the schema pg_trgm lives in (the fuzzy-name index is built with its operator class)
SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'

-- name: profile_imports  import batches still running (alive: their import holds the batch's lock), those that
-- stopped early and were not followed by a complete import of their roots, and the last complete one
SELECT b.id, b.roots, b.status, b.started_at, b.finished_at, b.files_seen, b.files_new, b.errors, b.runner_version,
       b.status = 'running' AND midi.import_alive(b.id) AS alive,
       b.status IN ('interrupted', 'failed') AND NOT EXISTS (
           SELECT 1 FROM midi.import_batches d
            WHERE d.status = 'done' AND d.id > b.id
              AND NOT EXISTS (SELECT 1 FROM unnest(b.roots) AS r(root)
                               WHERE NOT EXISTS (SELECT 1 FROM unnest(d.roots) AS dr(root)
                                                  WHERE r.root = dr.root
                                                     OR left(r.root, length(rtrim(dr.root, '/')) + 1) = rtrim(dr.root, '/') || '/'))
       ) AS unfinished
FROM midi.import_batches b
WHERE b.status <> 'done' OR b.id = (SELECT max(id) FROM midi.import_batches WHERE status = 'done')
ORDER BY b.id DESC
LIMIT 100

-- name: profile_views  when the library statistics and facet views were refreshed, and when files last changed
SELECT (SELECT s.refreshed_at FROM midi.library_stats s) AS refreshed_at,
       (SELECT max(f.updated_at) FROM midi.files f) AS changed_at,
       now() AS now

-- name: profile_planner_switches  the planner's index scan methods that are switched off, and where
SELECT name, setting, source, current_database()::text AS database, current_user::text AS role
FROM pg_settings
WHERE name = ANY (%s) AND setting = 'off'
ORDER BY name

-- name: profile_history  the newest recorded profile runs first (midi.profile_history)
SELECT id, taken_at, midicenter_version, health_score, files, figures FROM midi.profile_history(%s)

-- name: profile_record_can_be_writer  whether this role may act as midi_writer (it records as that role)
SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = 'midi_writer' AND pg_has_role(current_user, r.oid, 'MEMBER'))

-- name: profile_record_as_writer  the recording transaction runs with the writer role's rights alone
SET LOCAL ROLE midi_writer

-- name: profile_record  store one report's figures and prune recorded runs older than keep_days
SELECT midi.profile_record(%(figures)s, %(version)s, %(score)s, %(files)s, %(keep_days)s)

-- name: search  one page of midi.search; the filters as one JSON object (runner/filters.py builds it)
SELECT * FROM midi.search(sort => %(sort)s, lim => %(lim)s, after => %(after)s, filters => %(filters)s)

-- name: search_count  how many files match (exact up to cap, else a flagged estimate)
SELECT * FROM midi.search_count(filters => %(filters)s)

-- name: facets  facet counts under the filters (OR within a facet, AND across)
SELECT * FROM midi.facets(facet_limit => %(facet_limit)s, filters => %(filters)s)

-- name: file_details  everything about one file
SELECT * FROM midi.file_details(%(id)s)

-- name: favorite_add  mark a favorite; true if it was not one
SELECT midi.favorite_add(%(id)s) AS changed

-- name: favorite_remove  unmark a favorite; true if it was one
SELECT midi.favorite_remove(%(id)s) AS changed

-- name: favorite_toggle  flip a favorite; the new state
SELECT midi.favorite_toggle(%(id)s) AS favorite

-- name: rate  set (1..5) or clear (0) a rating
SELECT midi.rate(%(id)s, %(stars)s) AS rating

-- name: tag  attach user tags to a file; how many were new
SELECT midi.tag(%(id)s, VARIADIC %(names)s::text[]) AS added

-- name: untag  detach tags from a file; how many were detached
SELECT midi.untag(%(id)s, VARIADIC %(names)s::text[]) AS removed

-- name: tag_rename  rename a tag everywhere; its id
SELECT midi.tag_rename(%(old)s, %(new)s) AS tag_id

-- name: tag_merge  merge tags into one; files that gained it
SELECT midi.tag_merge(%(sources)s::text[], %(target)s) AS files

-- name: tag_list  tags of a file, or of the library with counts
SELECT * FROM midi.tag_list(%(id)s)

-- name: saved_search_save  save or replace a named search
SELECT midi.saved_search_save(%(name)s, %(filters)s) AS id

-- name: saved_search_run  one page of a saved search
SELECT * FROM midi.saved_search_run(%(name)s, %(lim)s, %(after)s)

-- name: saved_search_list  every saved search
SELECT * FROM midi.saved_search_list()

-- name: saved_search_delete  forget a saved search; true if it existed
SELECT midi.saved_search_delete(%(name)s) AS deleted

-- name: refresh_views  refresh the library statistics and facet materialized views (concurrently)
SELECT midi.refresh_views()

-- name: export_rows  the files an export writes: id, dest name (template rendered in SQL), content hash, size, source paths, total
SELECT id, dest, content_hash, file_size_bytes, source_paths, source_bytes, total
  FROM midi.export_rows(ids => %(ids)s, saved => %(saved)s, template => %(template)s, keep_tree => %(keep_tree)s,
                        filters => %(filters)s)

-- name: export_template  a name template parsed (raises invalid_parameter_value for an unknown field)
SELECT fields, literals FROM midi.export_template(%(template)s)

-- name: export_fields  the fields a name template may use
SELECT field, about FROM midi.export_fields()

-- name: export_library_roots  every folder or archive an import was started on (an export must not write into them)
SELECT DISTINCT r.root FROM midi.import_batches b CROSS JOIN LATERAL unnest(b.roots) AS r(root) ORDER BY 1

-- name: export_safe_names  names made safe as file names, in the order given (NULL: nothing safe left)
SELECT midi.export_safe_name(u.n, %(max_bytes)s) FROM unnest(%(names)s::text[]) WITH ORDINALITY AS u(n, i) ORDER BY u.i

-- name: catalog_csv  the whole catalog as CSV with a header, by id (streamed by COPY)
COPY (SELECT * FROM midi.catalog ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)

-- name: catalog_jsonl  the whole catalog, one JSON object per line, by id (no JSON text holds a raw 0x01, 0x02 or newline, so CSV with those as delimiter and quote writes it as it is)
COPY (SELECT to_json(c) FROM (SELECT * FROM midi.catalog ORDER BY id) c) TO STDOUT WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')

-- name: catalog_rows_csv  the catalog rows of a search (filters, ids, saved search) as CSV with a header
COPY (SELECT * FROM midi.catalog_rows(ids => %(ids)s, saved => %(saved)s, filters => %(filters)s)) TO STDOUT WITH (FORMAT csv, HEADER)

-- name: catalog_rows_jsonl  the catalog rows of a search, one JSON object per line
COPY (SELECT to_json(c) FROM midi.catalog_rows(ids => %(ids)s, saved => %(saved)s, filters => %(filters)s) c) TO STDOUT WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')

-- name: split_source  the one file a split reads: its rows as export_rows gives them
SELECT id, dest, content_hash, file_size_bytes, source_paths, source_bytes, total FROM midi.export_rows(ids => ARRAY[%(id)s]::bigint[])

-- name: split_song  what a split names its parts after: the song's file name, format and track count
SELECT filename, format, num_tracks FROM midi.file_details(%(id)s)

-- name: split_register  record imported parts of a song; each part's file id
SELECT track_number, channel, file_id FROM midi.split_register(%(parent)s, %(parts)s)

-- name: gm_names  General MIDI program names, for naming song parts
SELECT program, name FROM midi.gm_instruments ORDER BY program

-- name: views_owned  may this role refresh these views of schema midi itself (it owns every one of them)? and the library's size (planner estimate)
SELECT bool_and(pg_has_role(current_user, c.relowner, 'USAGE')) AND count(*) = cardinality(%s::text[]) AS owned,
       (SELECT greatest(f.reltuples, 0)::bigint FROM pg_class f WHERE f.oid = 'midi.files'::regclass) AS files
  FROM pg_class c
 WHERE c.relnamespace = 'midi'::regnamespace AND c.relkind = 'm' AND c.relname = ANY (%s::text[])
