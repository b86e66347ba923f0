-- The history of `midicenter profile --record` (the report's figures, not its text: health score, files,
-- cache hit ratio, each canonical call's p95 ...), one row per recorded run, pruned by age when a run is
-- recorded (midi.profile_record). And a state for import batches whose process went away while they ran:
-- 'interrupted', set by the next import (midi.import_mark_interrupted), so a batch is never left
-- 'running' for ever.
-- depends: 0012_add_search_words_and_sort_indexes

CREATE TABLE midi.profile_runs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at            timestamptz NOT NULL DEFAULT now(),
    midicenter_version  text NOT NULL,
    health_score        smallint NOT NULL CHECK (health_score BETWEEN 0 AND 100),
    files               bigint CHECK (files >= 0),
    figures             jsonb NOT NULL CHECK (jsonb_typeof(figures) = 'object')
);
COMMENT ON TABLE midi.profile_runs IS
    'One row per `midicenter profile --record`: the report''s figures (jsonb), newest last; pruned by age';
COMMENT ON INDEX midi.profile_runs_pkey IS
    'serves: midi.profile_history -- the newest recorded runs first, for "since last time" and --history';

ALTER TABLE midi.import_batches DROP CONSTRAINT import_batches_status_check;
ALTER TABLE midi.import_batches ADD CONSTRAINT import_batches_status_check
    CHECK (status IN ('running', 'done', 'failed', 'interrupted'));
COMMENT ON COLUMN midi.import_batches.status IS
    'running (its import holds an advisory lock on it), done, failed, or interrupted (its process went away)';
