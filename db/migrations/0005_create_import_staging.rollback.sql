-- Rollback of 0005_create_import_staging.
DROP TABLE midi.vocabulary;
ALTER TABLE midi.files
    DROP COLUMN header_tracks, DROP COLUMN smpte_fps, DROP COLUMN smpte_resolution, DROP COLUMN is_rmid,
    DROP COLUMN midi_warnings, DROP COLUMN filename_bpm, DROP COLUMN filename_key, DROP COLUMN filename_genres,
    DROP COLUMN filename_structure;
DROP TABLE midi.import_staging;
