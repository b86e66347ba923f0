-- Rollback of 0007_add_analysis_facts.
DROP SEQUENCE midi.analysis_batch_seq;
DROP TABLE midi.analysis_staging;
DROP TABLE midi.category_words;
DROP TABLE midi.gm_instruments;
DROP TABLE midi.key_templates;
DROP TABLE midi.key_profiles;
ALTER TABLE midi.musical_metadata
    DROP COLUMN parser, DROP COLUMN bpm_source, DROP COLUMN has_tempo_changes, DROP COLUMN tempo_map,
    DROP COLUMN time_signatures, DROP COLUMN key_from_signature, DROP COLUMN key_from_filename,
    DROP COLUMN key_estimate, DROP COLUMN key_estimate_second, DROP COLUMN key_correlation,
    DROP COLUMN key_confidence, DROP COLUMN key_profile, DROP COLUMN key_source, DROP COLUMN pitch_class_histogram,
    DROP COLUMN drum_note_count, DROP COLUMN track_names, DROP COLUMN instrument_names, DROP COLUMN copyright,
    DROP COLUMN markers, DROP COLUMN has_lyrics;
COMMENT ON COLUMN midi.musical_metadata.key_signature IS NULL;
ALTER TABLE midi.files DROP COLUMN analyzer_version;
