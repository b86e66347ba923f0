-- Roles and grants. midi_reader may only read and call the read API; midi_writer may also import and
-- analyze. Roles are cluster-wide, so they are created only when missing.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'midi_reader') THEN
        CREATE ROLE midi_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'midi_writer') THEN
        CREATE ROLE midi_writer NOLOGIN;
    END IF;
END
$$;

GRANT midi_reader TO midi_writer;
GRANT USAGE ON SCHEMA midi TO midi_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA midi TO midi_reader;
REVOKE ALL ON FUNCTION midi._touch_updated_at(), midi._files_search_vector() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION midi.name_words(text), midi.file_search_vector(text, text, text, text[]),
    midi.name_vector(text), midi.place_vector(text, text, text[]) TO midi_reader;

GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA midi TO midi_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA midi TO midi_writer;
