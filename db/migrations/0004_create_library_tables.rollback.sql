-- Rollback of 0004_create_library_tables.
DROP TABLE midi.favorites;
DROP TABLE midi.file_tags;
DROP TABLE midi.tags;
