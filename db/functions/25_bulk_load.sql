-- Bulk loads, as pg_restore does them: the search-only indexes are dropped before a large import or
-- analysis and built again at its end (sort-based builds, parallel maintenance workers), instead of being
-- updated row by row. An index is search-only when its comment ends with "[deferrable]" (migrations mark
-- them; docs/development.md says when an index may be marked). midi.deferred_indexes remembers what was
-- dropped, so a run killed before the rebuild leaves a library that answers every call (slower) and the
-- next import, analysis or `midicenter db migrate` builds what is missing. The runner (runner/bulk.py)
-- drops the indexes (DROP INDEX CONCURRENTLY cannot run inside a function) and holds the advisory lock
-- midi.bulk_lock_key() for as long as indexes it dropped are missing, so two runs never rebuild the same
-- index and a live run's deferred indexes are never taken for a dead run's.

/* bulk_lock_key: the advisory lock a bulk load holds (session level) while its indexes are deferred. */
CREATE OR REPLACE FUNCTION midi.bulk_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 7883943025935993931::bigint  -- the bytes of 'midiBULK' read as a number: a constant no other tool uses
$$;
COMMENT ON FUNCTION midi.bulk_lock_key() IS 'The advisory lock key a bulk load holds while its search indexes are deferred';

/* deferrable_indexes: the indexes of schema midi a bulk load may drop: valid, not unique, backing no
   constraint, and marked "[deferrable]" at the end of their comment. Their definition and comment are
   what midi.restore_index builds again. */
CREATE OR REPLACE FUNCTION midi.deferrable_indexes()
RETURNS TABLE (name text, table_name text, definition text, comment text)
LANGUAGE sql STABLE AS $$
    SELECT c.relname::text, t.relname::text, pg_get_indexdef(c.oid), obj_description(c.oid, 'pg_class')
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid
     WHERE c.relnamespace = 'midi'::regnamespace AND i.indisvalid AND NOT i.indisunique AND NOT i.indisprimary
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
       AND obj_description(c.oid, 'pg_class') ~ '\[deferrable\]\s*$'
     ORDER BY 1
$$;
COMMENT ON FUNCTION midi.deferrable_indexes() IS
    'Indexes a bulk load may drop and build again (valid, not unique, no constraint, comment ends with [deferrable])';

/* defer_indexes: records every deferrable index (definition and comment) in midi.deferred_indexes, in
   the caller's transaction, before the runner drops them; returns every recorded name (also those a
   killed run recorded and that are still to build), largest first. `by` is 'import' or 'analysis'. */
CREATE OR REPLACE FUNCTION midi.defer_indexes(by text)
RETURNS TABLE (name text, table_name text)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO midi.deferred_indexes AS d (name, table_name, definition, comment, deferred_by)
    SELECT x.name, x.table_name, x.definition, x.comment, by FROM midi.deferrable_indexes() x
    ON CONFLICT ON CONSTRAINT deferred_indexes_pkey DO NOTHING;
    RETURN QUERY SELECT d.name, d.table_name FROM midi.deferred_indexes d
                  ORDER BY pg_relation_size(to_regclass('midi.' || quote_ident(d.name))) DESC NULLS LAST, d.name;
END;
$$;
COMMENT ON FUNCTION midi.defer_indexes(text) IS
    'Records the deferrable indexes before a bulk load drops them; returns every index recorded as deferred';

/* restore_index: builds one deferred index again, in the caller's transaction (whose maintenance_work_mem
   and max_parallel_maintenance_workers size the build): an index still present and valid only loses its
   deferred_indexes row; one left invalid by a killed DROP INDEX CONCURRENTLY is dropped and built; a
   missing one is built from its recorded definition and gets its comment back. The row is locked first
   (SKIP LOCKED), so two sessions never build the same index. Returns 'present', 'built' or 'busy'
   (another session holds the row, or it is gone). */
CREATE OR REPLACE FUNCTION midi.restore_index(index_name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    d midi.deferred_indexes;
    valid boolean;
BEGIN
    SELECT * INTO d FROM midi.deferred_indexes x WHERE x.name = index_name FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 'busy';
    END IF;
    SELECT i.indisvalid INTO valid FROM pg_index i WHERE i.indexrelid = to_regclass('midi.' || quote_ident(d.name));
    IF valid THEN
        DELETE FROM midi.deferred_indexes x WHERE x.name = d.name;
        RETURN 'present';
    ELSIF valid IS NOT NULL THEN
        EXECUTE format('DROP INDEX midi.%I', d.name);
    END IF;
    -- pg_get_indexdef of the index when it was deferred; the table is writable by its owner only (90_grants)
    EXECUTE d.definition;
    EXECUTE format('COMMENT ON INDEX midi.%I IS %L', d.name, d.comment);
    DELETE FROM midi.deferred_indexes x WHERE x.name = d.name;
    RETURN 'built';
END;
$$;
COMMENT ON FUNCTION midi.restore_index(text) IS
    'Builds one deferred index again from its recorded definition (or keeps it when present); returns present, built or busy';
