-- Rollback of 0009_add_analysis_retries. Instruments go back to the stand-ins the older analyzer stored
-- (channel 10 for drum parts, channel 1 for the others, program 0 when unknown), merged so that the old
-- primary key holds again.
DROP TABLE midi.analysis_retries;

CREATE TEMP TABLE _instruments_0009 ON COMMIT DROP AS
SELECT fi.file_id, coalesce(fi.channel, CASE WHEN fi.is_drum THEN 9 ELSE 0 END)::smallint AS channel,
       coalesce(fi.program, 0)::smallint AS program, bool_or(fi.is_drum) AS is_drum,
       sum(fi.note_count)::integer AS note_count, min(fi.instrument_name) AS instrument_name
  FROM midi.file_instruments fi
 GROUP BY 1, 2, 3;
DELETE FROM midi.file_instruments;
DROP INDEX midi.file_instruments_part_key;
ALTER TABLE midi.file_instruments ALTER COLUMN channel SET NOT NULL, ALTER COLUMN program SET NOT NULL;
ALTER TABLE midi.file_instruments ADD CONSTRAINT file_instruments_pkey PRIMARY KEY (file_id, channel, program);
INSERT INTO midi.file_instruments (file_id, channel, program, is_drum, note_count, instrument_name)
SELECT file_id, channel, program, is_drum, note_count, instrument_name FROM _instruments_0009;

COMMENT ON COLUMN midi.file_instruments.channel IS NULL;
COMMENT ON COLUMN midi.file_instruments.program IS NULL;
COMMENT ON COLUMN midi.musical_metadata.bpm IS NULL;
COMMENT ON COLUMN midi.musical_metadata.bpm_source IS
    'meta: a tempo event; filename: no tempo event, the file name states it; default: MIDI''s implicit 120';
COMMENT ON COLUMN midi.musical_metadata.time_signature_numerator IS NULL;
