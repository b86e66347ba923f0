-- Rollback of 0013_create_profile_runs: the profile history goes, and interrupted import batches count as
-- failed again (the state before 0013 had no word for them).
DROP TABLE midi.profile_runs;
UPDATE midi.import_batches SET status = 'failed' WHERE status = 'interrupted';
ALTER TABLE midi.import_batches DROP CONSTRAINT import_batches_status_check;
ALTER TABLE midi.import_batches ADD CONSTRAINT import_batches_status_check
    CHECK (status IN ('running', 'done', 'failed'));
COMMENT ON COLUMN midi.import_batches.status IS NULL;
