SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;
CREATE SCHEMA midi;
COMMENT ON SCHEMA midi IS 'midicenter: MIDI library catalog, analysis and search API';
CREATE TYPE midi.file_category AS ENUM (
    'drums',
    'kick',
    'snare',
    'hats',
    'cymbals',
    'percussion',
    'bass',
    'chords',
    'pad',
    'lead',
    'melody',
    'arp',
    'pluck',
    'keys',
    'piano',
    'organ',
    'guitar',
    'strings',
    'brass',
    'woodwind',
    'synth',
    'fx',
    'vocal',
    'full_mix',
    'unknown'
);
CREATE TYPE midi.musical_key AS ENUM (
    'C',
    'C#',
    'D',
    'Eb',
    'E',
    'F',
    'F#',
    'G',
    'Ab',
    'A',
    'Bb',
    'B',
    'Cm',
    'C#m',
    'Dm',
    'Ebm',
    'Em',
    'Fm',
    'F#m',
    'Gm',
    'Abm',
    'Am',
    'Bbm',
    'Bm',
    'UNKNOWN'
);
CREATE FUNCTION midi._files_search_vector() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.search_vector := midi.file_search_vector(NEW.filename, NEW.manufacturer, NEW.collection_name, NEW.folder_tags);
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._files_search_vector() IS 'Trigger function: recomputes files.search_vector from filename, manufacturer, collection and folder tags';
CREATE FUNCTION midi._touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION midi._touch_updated_at() IS 'Trigger function: sets NEW.updated_at = now() on every update';
CREATE FUNCTION midi.file_search_vector(filename text, manufacturer text, collection_name text, folder_tags text[]) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT setweight(to_tsvector('midi.names', coalesce(midi.name_words(filename), '')), 'A')
        || setweight(to_tsvector('midi.names',
               coalesce(midi.name_words(manufacturer), '') || ' ' || coalesce(midi.name_words(collection_name), '')), 'B')
        || setweight(to_tsvector('midi.names',
               coalesce(midi.name_words(array_to_string(folder_tags, ' ')), '')), 'C')
$$;
COMMENT ON FUNCTION midi.file_search_vector(filename text, manufacturer text, collection_name text, folder_tags text[]) IS 'Weighted tsvector of a file: filename (A), manufacturer + collection (B), folder tags (C)';
CREATE FUNCTION midi.name_words(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
    WITH base AS (
        SELECT regexp_replace(name, '\.(mid|midi|kar|rmi|smf)$', '', 'i') AS b
    ), tokens AS (
        SELECT t FROM base, regexp_split_to_table(b, '[\s_.\-]+') AS t WHERE t <> ''
    )
    SELECT coalesce(string_agg(
        CASE
            WHEN t ~ '[a-z][A-Z]|[A-Z][A-Z][a-z]' THEN
                regexp_replace(regexp_replace(t, '([a-z0-9])([A-Z])', '\1 \2', 'g'),
                               '([A-Z]+)([A-Z][a-z])', '\1 \2', 'g') || ' ' || t
            ELSE t
        END, ' '), '')
    FROM tokens
$_$;
COMMENT ON FUNCTION midi.name_words(name text) IS 'Search words of a file or folder name: extension stripped, split on _ - . and camelCase (joined form kept)';
CREATE TEXT SEARCH DICTIONARY midi.english_stem_keepall (
    TEMPLATE = pg_catalog.snowball,
    language = 'english' );
CREATE TEXT SEARCH CONFIGURATION midi.names (
    PARSER = pg_catalog."default" );
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR asciiword WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR word WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR numword WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR email WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR url WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR host WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR sfloat WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR version WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR hword_numpart WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR hword_part WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR hword_asciipart WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR numhword WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR asciihword WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR hword WITH midi.english_stem_keepall;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR url_path WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR file WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR "float" WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR "int" WITH simple;
ALTER TEXT SEARCH CONFIGURATION midi.names
    ADD MAPPING FOR uint WITH simple;
SET default_tablespace = '';
SET default_table_access_method = heap;
CREATE TABLE midi.analysis_errors (
    file_id bigint NOT NULL,
    error_class text NOT NULL,
    message text NOT NULL,
    parser text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT analysis_errors_error_class_check CHECK ((error_class ~ '^[a-z][a-z_]*$'::text))
);
CREATE TABLE midi.favorites (
    file_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE midi.file_categories (
    file_id bigint NOT NULL,
    primary_category midi.file_category DEFAULT 'unknown'::midi.file_category NOT NULL,
    secondary_category midi.file_category,
    confidence real,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT file_categories_check CHECK (((secondary_category IS NULL) OR (secondary_category <> primary_category))),
    CONSTRAINT file_categories_confidence_check CHECK (((confidence >= (0)::double precision) AND (confidence <= (1)::double precision)))
);
CREATE TABLE midi.file_instruments (
    file_id bigint NOT NULL,
    channel smallint NOT NULL,
    program smallint NOT NULL,
    is_drum boolean DEFAULT false NOT NULL,
    note_count integer DEFAULT 0 NOT NULL,
    instrument_name text,
    CONSTRAINT file_instruments_channel_check CHECK (((channel >= 0) AND (channel <= 15))),
    CONSTRAINT file_instruments_note_count_check CHECK ((note_count >= 0)),
    CONSTRAINT file_instruments_program_check CHECK (((program >= 0) AND (program <= 127)))
);
CREATE TABLE midi.file_paths (
    id bigint NOT NULL,
    path text NOT NULL,
    path_bytes bytea,
    file_id bigint NOT NULL,
    import_batch_id bigint,
    first_seen timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    missing_since timestamp with time zone
);
ALTER TABLE midi.file_paths ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.file_paths_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.file_tags (
    file_id bigint NOT NULL,
    tag_id bigint NOT NULL,
    source text DEFAULT 'user'::text NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT file_tags_source_check CHECK ((source = ANY (ARRAY['path'::text, 'analysis'::text, 'user'::text])))
);
CREATE TABLE midi.files (
    id bigint NOT NULL,
    filename text NOT NULL,
    filepath text NOT NULL,
    original_filename text,
    content_hash bytea NOT NULL,
    file_size_bytes bigint NOT NULL,
    format smallint,
    num_tracks smallint,
    ticks_per_quarter_note integer,
    duration_seconds numeric(12,3),
    duration_ticks bigint,
    manufacturer text,
    collection_name text,
    folder_tags text[] DEFAULT '{}'::text[] NOT NULL,
    search_vector tsvector,
    parent_file_id bigint,
    import_batch_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    analyzed_at timestamp with time zone,
    cached_bpm numeric(6,2),
    cached_key midi.musical_key,
    cached_category midi.file_category,
    CONSTRAINT files_cached_bpm_check CHECK (((cached_bpm >= (1)::numeric) AND (cached_bpm <= (1000)::numeric))),
    CONSTRAINT files_content_hash_check CHECK ((octet_length(content_hash) = 32)),
    CONSTRAINT files_duration_seconds_check CHECK ((duration_seconds >= (0)::numeric)),
    CONSTRAINT files_duration_ticks_check CHECK ((duration_ticks >= 0)),
    CONSTRAINT files_file_size_bytes_check CHECK ((file_size_bytes >= 0)),
    CONSTRAINT files_format_check CHECK (((format >= 0) AND (format <= 2))),
    CONSTRAINT files_num_tracks_check CHECK ((num_tracks >= 0)),
    CONSTRAINT files_ticks_per_quarter_note_check CHECK ((ticks_per_quarter_note > 0))
);
COMMENT ON TABLE midi.files IS 'One row per distinct MIDI content (BLAKE3 content_hash); every location is in file_paths';
COMMENT ON COLUMN midi.files.filepath IS 'The first absolute path this content was seen at; all paths are in file_paths';
ALTER TABLE midi.files ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.files_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.import_batches (
    id bigint NOT NULL,
    roots text[] DEFAULT '{}'::text[] NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    files_seen bigint DEFAULT 0 NOT NULL,
    files_new bigint DEFAULT 0 NOT NULL,
    duplicates bigint DEFAULT 0 NOT NULL,
    errors bigint DEFAULT 0 NOT NULL,
    other_files bigint DEFAULT 0 NOT NULL,
    bytes_seen bigint DEFAULT 0 NOT NULL,
    runner_version text,
    CONSTRAINT import_batches_bytes_seen_check CHECK ((bytes_seen >= 0)),
    CONSTRAINT import_batches_check CHECK (((finished_at IS NULL) OR (finished_at >= started_at))),
    CONSTRAINT import_batches_duplicates_check CHECK ((duplicates >= 0)),
    CONSTRAINT import_batches_errors_check CHECK ((errors >= 0)),
    CONSTRAINT import_batches_files_new_check CHECK ((files_new >= 0)),
    CONSTRAINT import_batches_files_seen_check CHECK ((files_seen >= 0)),
    CONSTRAINT import_batches_other_files_check CHECK ((other_files >= 0)),
    CONSTRAINT import_batches_status_check CHECK ((status = ANY (ARRAY['running'::text, 'done'::text, 'failed'::text])))
);
ALTER TABLE midi.import_batches ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.import_batches_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.import_errors (
    id bigint NOT NULL,
    path text NOT NULL,
    path_bytes bytea,
    batch_id bigint NOT NULL,
    error_class text NOT NULL,
    message text NOT NULL,
    file_size_bytes bigint,
    first_seen timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT import_errors_error_class_check CHECK ((error_class ~ '^[a-z][a-z_]*$'::text)),
    CONSTRAINT import_errors_file_size_bytes_check CHECK ((file_size_bytes >= 0))
);
ALTER TABLE midi.import_errors ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.import_errors_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
CREATE TABLE midi.musical_metadata (
    file_id bigint NOT NULL,
    bpm numeric(6,2),
    key_signature midi.musical_key DEFAULT 'UNKNOWN'::midi.musical_key NOT NULL,
    time_signature_numerator smallint,
    time_signature_denominator smallint,
    total_notes integer DEFAULT 0 NOT NULL,
    unique_pitches smallint,
    pitch_range_min smallint,
    pitch_range_max smallint,
    velocity_min smallint,
    avg_velocity numeric(5,2),
    velocity_max smallint,
    note_density numeric(10,3),
    polyphony_max smallint,
    polyphony_avg numeric(6,2),
    is_percussive boolean DEFAULT false NOT NULL,
    is_monophonic boolean DEFAULT false NOT NULL,
    has_chords boolean DEFAULT false NOT NULL,
    has_melody boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT musical_metadata_avg_velocity_check CHECK (((avg_velocity >= (0)::numeric) AND (avg_velocity <= (127)::numeric))),
    CONSTRAINT musical_metadata_bpm_check CHECK (((bpm >= (1)::numeric) AND (bpm <= (1000)::numeric))),
    CONSTRAINT musical_metadata_check CHECK (((pitch_range_min IS NULL) OR (pitch_range_max IS NULL) OR (pitch_range_min <= pitch_range_max))),
    CONSTRAINT musical_metadata_check1 CHECK (((velocity_min IS NULL) OR (velocity_max IS NULL) OR (velocity_min <= velocity_max))),
    CONSTRAINT musical_metadata_note_density_check CHECK ((note_density >= (0)::numeric)),
    CONSTRAINT musical_metadata_pitch_range_max_check CHECK (((pitch_range_max >= 0) AND (pitch_range_max <= 127))),
    CONSTRAINT musical_metadata_pitch_range_min_check CHECK (((pitch_range_min >= 0) AND (pitch_range_min <= 127))),
    CONSTRAINT musical_metadata_polyphony_avg_check CHECK ((polyphony_avg >= (0)::numeric)),
    CONSTRAINT musical_metadata_polyphony_max_check CHECK ((polyphony_max >= 0)),
    CONSTRAINT musical_metadata_time_signature_denominator_check CHECK ((time_signature_denominator = ANY (ARRAY[1, 2, 4, 8, 16, 32, 64]))),
    CONSTRAINT musical_metadata_time_signature_numerator_check CHECK (((time_signature_numerator >= 1) AND (time_signature_numerator <= 64))),
    CONSTRAINT musical_metadata_total_notes_check CHECK ((total_notes >= 0)),
    CONSTRAINT musical_metadata_unique_pitches_check CHECK (((unique_pitches >= 0) AND (unique_pitches <= 128))),
    CONSTRAINT musical_metadata_velocity_max_check CHECK (((velocity_max >= 0) AND (velocity_max <= 127))),
    CONSTRAINT musical_metadata_velocity_min_check CHECK (((velocity_min >= 0) AND (velocity_min <= 127)))
);
CREATE TABLE midi.tags (
    id bigint NOT NULL,
    name text NOT NULL,
    category text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tags_name_check CHECK (((name = lower(btrim(name))) AND (name <> ''::text)))
);
ALTER TABLE midi.tags ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME midi.tags_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);
ALTER TABLE ONLY midi.analysis_errors
    ADD CONSTRAINT analysis_errors_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.favorites
    ADD CONSTRAINT favorites_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.file_categories
    ADD CONSTRAINT file_categories_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.file_instruments
    ADD CONSTRAINT file_instruments_pkey PRIMARY KEY (file_id, channel, program);
ALTER TABLE ONLY midi.file_paths
    ADD CONSTRAINT file_paths_path_key UNIQUE NULLS NOT DISTINCT (path, path_bytes);
ALTER TABLE ONLY midi.file_paths
    ADD CONSTRAINT file_paths_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.file_tags
    ADD CONSTRAINT file_tags_pkey PRIMARY KEY (file_id, tag_id);
ALTER TABLE ONLY midi.files
    ADD CONSTRAINT files_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.import_batches
    ADD CONSTRAINT import_batches_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.import_errors
    ADD CONSTRAINT import_errors_path_key UNIQUE NULLS NOT DISTINCT (path, path_bytes);
ALTER TABLE ONLY midi.import_errors
    ADD CONSTRAINT import_errors_pkey PRIMARY KEY (id);
ALTER TABLE ONLY midi.musical_metadata
    ADD CONSTRAINT musical_metadata_pkey PRIMARY KEY (file_id);
ALTER TABLE ONLY midi.tags
    ADD CONSTRAINT tags_name_key UNIQUE (name);
ALTER TABLE ONLY midi.tags
    ADD CONSTRAINT tags_pkey PRIMARY KEY (id);
CREATE INDEX idx_analysis_errors_class ON midi.analysis_errors USING btree (error_class);
CREATE INDEX idx_file_categories_primary ON midi.file_categories USING btree (primary_category);
CREATE INDEX idx_file_instruments_program ON midi.file_instruments USING btree (program, is_drum);
CREATE INDEX idx_file_paths_file ON midi.file_paths USING btree (file_id);
CREATE INDEX idx_file_tags_tag ON midi.file_tags USING btree (tag_id);
CREATE INDEX idx_files_batch ON midi.files USING btree (import_batch_id) WHERE (import_batch_id IS NOT NULL);
CREATE INDEX idx_files_collection ON midi.files USING btree (collection_name) WHERE (collection_name IS NOT NULL);
CREATE UNIQUE INDEX idx_files_content_hash ON midi.files USING btree (content_hash);
CREATE INDEX idx_files_created ON midi.files USING btree (created_at DESC);
CREATE INDEX idx_files_duration ON midi.files USING btree (duration_seconds) WHERE (duration_seconds IS NOT NULL);
CREATE INDEX idx_files_filepath ON midi.files USING btree (filepath);
CREATE INDEX idx_files_folder_tags ON midi.files USING gin (folder_tags);
CREATE INDEX idx_files_format ON midi.files USING btree (format);
CREATE INDEX idx_files_manufacturer ON midi.files USING btree (manufacturer) WHERE (manufacturer IS NOT NULL);
CREATE INDEX idx_files_num_tracks ON midi.files USING btree (num_tracks);
CREATE INDEX idx_files_parent ON midi.files USING btree (parent_file_id) WHERE (parent_file_id IS NOT NULL);
CREATE INDEX idx_files_search ON midi.files USING gin (search_vector);
CREATE INDEX idx_import_errors_batch ON midi.import_errors USING btree (batch_id);
CREATE INDEX idx_import_errors_class ON midi.import_errors USING btree (error_class);
CREATE INDEX idx_metadata_bpm ON midi.musical_metadata USING btree (bpm) WHERE (bpm IS NOT NULL);
CREATE INDEX idx_metadata_characteristics ON midi.musical_metadata USING btree (is_percussive, is_monophonic, has_chords);
CREATE INDEX idx_metadata_density ON midi.musical_metadata USING btree (note_density DESC);
CREATE INDEX idx_metadata_has_melody ON midi.musical_metadata USING btree (has_melody) WHERE (has_melody = true);
CREATE INDEX idx_metadata_key ON midi.musical_metadata USING btree (key_signature) WHERE (key_signature <> 'UNKNOWN'::midi.musical_key);
CREATE INDEX idx_metadata_notes ON midi.musical_metadata USING btree (total_notes DESC);
CREATE INDEX idx_metadata_pitch_range ON midi.musical_metadata USING btree (pitch_range_min, pitch_range_max);
CREATE INDEX idx_metadata_polyphony ON midi.musical_metadata USING btree (polyphony_max) WHERE (polyphony_max IS NOT NULL);
CREATE INDEX idx_metadata_time_sig ON midi.musical_metadata USING btree (time_signature_numerator, time_signature_denominator);
CREATE TRIGGER files_search_vector BEFORE INSERT OR UPDATE OF filename, manufacturer, collection_name, folder_tags ON midi.files FOR EACH ROW EXECUTE FUNCTION midi._files_search_vector();
CREATE TRIGGER files_touch_updated_at BEFORE UPDATE ON midi.files FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION midi._touch_updated_at();
CREATE TRIGGER musical_metadata_touch_updated_at BEFORE UPDATE ON midi.musical_metadata FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION midi._touch_updated_at();
ALTER TABLE ONLY midi.analysis_errors
    ADD CONSTRAINT analysis_errors_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.favorites
    ADD CONSTRAINT favorites_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_categories
    ADD CONSTRAINT file_categories_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_instruments
    ADD CONSTRAINT file_instruments_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_paths
    ADD CONSTRAINT file_paths_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_paths
    ADD CONSTRAINT file_paths_import_batch_id_fkey FOREIGN KEY (import_batch_id) REFERENCES midi.import_batches(id) ON DELETE SET NULL;
ALTER TABLE ONLY midi.file_tags
    ADD CONSTRAINT file_tags_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.file_tags
    ADD CONSTRAINT file_tags_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES midi.tags(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.files
    ADD CONSTRAINT files_import_batch_id_fkey FOREIGN KEY (import_batch_id) REFERENCES midi.import_batches(id) ON DELETE SET NULL;
ALTER TABLE ONLY midi.files
    ADD CONSTRAINT files_parent_file_id_fkey FOREIGN KEY (parent_file_id) REFERENCES midi.files(id) ON DELETE SET NULL;
ALTER TABLE ONLY midi.import_errors
    ADD CONSTRAINT import_errors_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES midi.import_batches(id) ON DELETE CASCADE;
ALTER TABLE ONLY midi.musical_metadata
    ADD CONSTRAINT musical_metadata_file_id_fkey FOREIGN KEY (file_id) REFERENCES midi.files(id) ON DELETE CASCADE;
