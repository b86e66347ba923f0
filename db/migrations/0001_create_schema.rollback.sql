-- Rollback of 0001_create_schema: the schema goes, and with it the types and text search objects.
DROP SCHEMA midi CASCADE;
