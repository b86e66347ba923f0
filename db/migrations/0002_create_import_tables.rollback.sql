-- Rollback of 0002_create_import_tables.
DROP TABLE midi.import_errors;
DROP TABLE midi.file_paths;
DROP TABLE midi.files;
DROP TABLE midi.import_batches;
