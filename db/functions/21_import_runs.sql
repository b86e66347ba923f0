-- Which import batches are really running. An import holds a session advisory lock on its batch for its
-- whole life (midi.import_hold, taken in the transaction that opens the batch); PostgreSQL releases it when
-- the import's connection ends, also when its process is killed. A batch still 'running' whose lock nobody
-- holds was left by a process that is gone: the profile shows it as such and the next import marks it
-- 'interrupted' (midi.import_mark_interrupted).

/* _import_lock: the advisory lock key of an import batch: (the oid of midi.import_batches, the batch id
   folded into 31 bits). Advisory locks are per database, and the table's oid is not a number another
   application would pick; a folded id that collides (after two billion batches) can only make a gone
   batch look alive, never the reverse. */
CREATE OR REPLACE FUNCTION midi._import_lock(batch bigint, OUT class_key integer, OUT object_key integer)
LANGUAGE sql STABLE STRICT AS $$
    SELECT 'midi.import_batches'::regclass::oid::integer, (batch & 2147483647)::integer
$$;
COMMENT ON FUNCTION midi._import_lock(bigint) IS 'Internal: the advisory lock key (two integers) of an import batch';

/* import_hold: takes the session advisory lock of a batch for this connection's lifetime (the importer
   calls it in the transaction that opens the batch, so no other session ever sees the batch unlocked).
   Returns true; raises when another session holds it already (the batch belongs to another import). */
CREATE OR REPLACE FUNCTION midi.import_hold(batch bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    k record := midi._import_lock(batch);
BEGIN
    IF NOT pg_try_advisory_lock(k.class_key, k.object_key) THEN
        RAISE EXCEPTION 'import batch % is held by another session', batch USING ERRCODE = 'lock_not_available';
    END IF;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION midi.import_hold(bigint) IS
    'Holds the advisory lock of an import batch for this session''s lifetime (proof that its import is alive)';

/* import_alive: whether some session holds the batch's advisory lock, that is whether the import that
   opened the batch is still connected. Reads pg_locks (readable by every role); takes no lock itself, so
   the read-only profile can ask. */
CREATE OR REPLACE FUNCTION midi.import_alive(batch bigint) RETURNS boolean
LANGUAGE sql STABLE STRICT AS $$
    SELECT EXISTS (SELECT 1 FROM pg_locks l, midi._import_lock(batch) k
                    WHERE l.locktype = 'advisory' AND l.granted
                      AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
                      AND l.classid = k.class_key::oid AND l.objid = k.object_key::oid AND l.objsubid = 2)
$$;
COMMENT ON FUNCTION midi.import_alive(bigint) IS
    'Whether the import that opened a batch still holds its advisory lock (its process is alive)';

/* import_mark_interrupted: marks every batch still 'running' whose import is gone (nobody holds its lock)
   as 'interrupted', with finished_at left empty (when it stopped is not known); returns their ids. The
   importer calls it as it starts. A batch opened by a midicenter older than the lock looks gone too: run
   it only when no such import is running. */
CREATE OR REPLACE FUNCTION midi.import_mark_interrupted() RETURNS SETOF bigint
LANGUAGE sql AS $$
    UPDATE midi.import_batches b SET status = 'interrupted'
     WHERE b.status = 'running' AND NOT midi.import_alive(b.id)
    RETURNING b.id
$$;
COMMENT ON FUNCTION midi.import_mark_interrupted() IS
    'Marks running import batches whose process is gone (no advisory lock held) as interrupted; returns their ids';
