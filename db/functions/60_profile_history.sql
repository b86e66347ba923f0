-- The history of `midicenter profile --record`: one row of figures per recorded report (the table is
-- migration 0013's midi.profile_runs). The report itself only reads; recording is a separate, short
-- transaction of the writer role that touches this table alone.

/* profile_record: stores one report's figures and prunes the rows older than keep_days (the new row is
   never pruned: it was taken now); returns the new row's id. health_score and files are kept as columns
   beside the figures (jsonb: the report's numbers, see runner/profile/history.py) so a trend reads
   without unpacking them. */
CREATE OR REPLACE FUNCTION midi.profile_record(figures jsonb, runner_version text, health_score integer,
                                               files bigint, keep_days integer DEFAULT 90)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    IF keep_days IS NULL OR keep_days < 1 THEN
        RAISE EXCEPTION 'keep_days must be at least 1, not %', keep_days USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO midi.profile_runs (midicenter_version, health_score, files, figures)
    VALUES (runner_version, health_score, files, figures)
    RETURNING id INTO new_id;
    DELETE FROM midi.profile_runs r WHERE r.taken_at < now() - make_interval(days => keep_days);
    RETURN new_id;
END;
$$;
COMMENT ON FUNCTION midi.profile_record(jsonb, text, integer, bigint, integer) IS
    'Records one profile report''s figures; prunes recorded runs older than keep_days; returns the new id';

/* profile_history: the newest recorded runs first (at most lim, default 30). */
CREATE OR REPLACE FUNCTION midi.profile_history(lim integer DEFAULT 30) RETURNS SETOF midi.profile_runs
LANGUAGE sql STABLE AS $$
    SELECT * FROM midi.profile_runs ORDER BY id DESC LIMIT greatest(coalesce(lim, 30), 0)
$$;
COMMENT ON FUNCTION midi.profile_history(integer) IS 'The newest recorded profile runs first (at most lim)';
