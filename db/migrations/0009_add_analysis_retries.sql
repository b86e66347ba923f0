-- Analysis that loses nothing and states nothing it does not know: the retry record of transient
-- failures, and instruments whose channel or program the parser could not tell (NULL, not a stand-in).
-- depends: 0008_key_paths_by_digest

-- A file whose last analysis attempts failed for a reason outside its bytes (unreadable, vanished,
-- timeout, worker_crash, out_of_memory: see midi.analysis_transient) keeps the facts it had; this row
-- counts the attempts. midi.analysis_claim takes the file again while attempts < the setting
-- midi.analysis_max_attempts (3 when unset); a conclusive result (facts, or an error the bytes
-- themselves cause) deletes the row.
CREATE TABLE midi.analysis_retries (
    file_id          bigint PRIMARY KEY REFERENCES midi.files (id) ON DELETE CASCADE,
    error_class      text NOT NULL CHECK (error_class ~ '^[a-z][a-z_]*$'),
    message          text NOT NULL,
    attempts         integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    first_failed_at  timestamptz NOT NULL DEFAULT now(),
    last_failed_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (last_failed_at >= first_failed_at)
);
COMMENT ON TABLE midi.analysis_retries IS
    'Files whose last analysis attempts failed transiently: class and message of the last one, how many in a row';

-- Instruments: what symusic cannot tell is stored as unknown. channel NULL: the part's channel could not be
-- proven; program NULL: no program change set it (the player's default instrument plays it, not piano).
-- Neither can be part of a primary key any more: one row per (channel, program, drum flag), unknowns
-- compared as equal.
ALTER TABLE midi.file_instruments DROP CONSTRAINT file_instruments_pkey;
ALTER TABLE midi.file_instruments ALTER COLUMN channel DROP NOT NULL, ALTER COLUMN program DROP NOT NULL;
CREATE UNIQUE INDEX file_instruments_part_key
    ON midi.file_instruments (file_id, channel, program, is_drum) NULLS NOT DISTINCT;
COMMENT ON INDEX midi.file_instruments_part_key IS
    'One row per part; serves analysis_apply''s replace (DELETE ... WHERE file_id = ANY), file_details and the sync triggers (WHERE file_id = ...)';
COMMENT ON COLUMN midi.file_instruments.channel IS
    'MIDI channel 0-15 of the part; NULL when the parser could not prove it (never a stand-in)';
COMMENT ON COLUMN midi.file_instruments.program IS
    'GM program 0-127 set by a program change (the kit on a drum channel); NULL when no program change set it';

COMMENT ON COLUMN midi.musical_metadata.bpm IS
    'The tempo covering the most time (bpm_source meta), else the one the file name states (filename); NULL when neither (bpm_source default: the file plays at MIDI''s implicit 120 but states no tempo)';
COMMENT ON COLUMN midi.musical_metadata.bpm_source IS
    'meta: a tempo event; filename: no tempo event, the file name states it; default: neither (bpm is NULL)';
COMMENT ON COLUMN midi.musical_metadata.time_signature_numerator IS
    'Time signature covering the most time; NULL when the file has no valid time-signature event (not 4/4)';

-- midi.analysis_claim (db/functions/31_analysis.sql) now also returns each file's content_hash, so the
-- workers can check that the bytes they read are still this file's: a function's result type cannot be
-- changed in place, so the old one goes here and the functions layer creates the new one after migrate.
DROP FUNCTION IF EXISTS midi.analysis_claim(bigint, integer, integer, timestamptz);
