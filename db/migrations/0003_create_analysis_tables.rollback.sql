-- Rollback of 0003_create_analysis_tables.
DROP TABLE midi.analysis_errors;
DROP TABLE midi.file_categories;
DROP TABLE midi.file_instruments;
DROP TABLE midi.musical_metadata;
