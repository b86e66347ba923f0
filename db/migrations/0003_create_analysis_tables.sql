-- Analysis side of the catalog: musical facts, instruments per channel, categories, analysis errors.
-- depends: 0002_create_import_tables

CREATE TABLE midi.musical_metadata (
    file_id                     bigint PRIMARY KEY REFERENCES midi.files (id) ON DELETE CASCADE,
    bpm                         numeric(6, 2) CHECK (bpm BETWEEN 1 AND 1000),
    key_signature               midi.musical_key NOT NULL DEFAULT 'UNKNOWN',
    time_signature_numerator    smallint CHECK (time_signature_numerator BETWEEN 1 AND 64),
    time_signature_denominator  smallint CHECK (time_signature_denominator IN (1, 2, 4, 8, 16, 32, 64)),
    total_notes                 integer NOT NULL DEFAULT 0 CHECK (total_notes >= 0),
    unique_pitches              smallint CHECK (unique_pitches BETWEEN 0 AND 128),
    pitch_range_min             smallint CHECK (pitch_range_min BETWEEN 0 AND 127),
    pitch_range_max             smallint CHECK (pitch_range_max BETWEEN 0 AND 127),
    velocity_min                smallint CHECK (velocity_min BETWEEN 0 AND 127),
    avg_velocity                numeric(5, 2) CHECK (avg_velocity BETWEEN 0 AND 127),
    velocity_max                smallint CHECK (velocity_max BETWEEN 0 AND 127),
    note_density                numeric(10, 3) CHECK (note_density >= 0),
    polyphony_max               smallint CHECK (polyphony_max >= 0),
    polyphony_avg               numeric(6, 2) CHECK (polyphony_avg >= 0),
    is_percussive               boolean NOT NULL DEFAULT false,
    is_monophonic               boolean NOT NULL DEFAULT false,
    has_chords                  boolean NOT NULL DEFAULT false,
    has_melody                  boolean NOT NULL DEFAULT false,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK (pitch_range_min IS NULL OR pitch_range_max IS NULL OR pitch_range_min <= pitch_range_max),
    CHECK (velocity_min IS NULL OR velocity_max IS NULL OR velocity_min <= velocity_max)
);

-- The indexes the seed documents list as existing on musical_metadata.
CREATE INDEX idx_metadata_bpm ON midi.musical_metadata (bpm) WHERE bpm IS NOT NULL;
CREATE INDEX idx_metadata_key ON midi.musical_metadata (key_signature) WHERE key_signature != 'UNKNOWN';
CREATE INDEX idx_metadata_time_sig ON midi.musical_metadata (time_signature_numerator, time_signature_denominator);
CREATE INDEX idx_metadata_notes ON midi.musical_metadata (total_notes DESC);
CREATE INDEX idx_metadata_density ON midi.musical_metadata (note_density DESC);
CREATE INDEX idx_metadata_characteristics ON midi.musical_metadata (is_percussive, is_monophonic, has_chords);
CREATE INDEX idx_metadata_polyphony ON midi.musical_metadata (polyphony_max) WHERE polyphony_max IS NOT NULL;
CREATE INDEX idx_metadata_pitch_range ON midi.musical_metadata (pitch_range_min, pitch_range_max);
CREATE INDEX idx_metadata_has_melody ON midi.musical_metadata (has_melody) WHERE has_melody = TRUE;

-- One row per (channel, program) that plays notes in a file; the drum channel is a kit, not a piano.
CREATE TABLE midi.file_instruments (
    file_id          bigint NOT NULL REFERENCES midi.files (id) ON DELETE CASCADE,
    channel          smallint NOT NULL CHECK (channel BETWEEN 0 AND 15),
    program          smallint NOT NULL CHECK (program BETWEEN 0 AND 127),
    is_drum          boolean NOT NULL DEFAULT false,
    note_count       integer NOT NULL DEFAULT 0 CHECK (note_count >= 0),
    instrument_name  text,
    PRIMARY KEY (file_id, channel, program)
);
CREATE INDEX idx_file_instruments_program ON midi.file_instruments (program, is_drum);

CREATE TABLE midi.file_categories (
    file_id             bigint PRIMARY KEY REFERENCES midi.files (id) ON DELETE CASCADE,
    primary_category    midi.file_category NOT NULL DEFAULT 'unknown',
    secondary_category  midi.file_category,
    confidence          real CHECK (confidence BETWEEN 0 AND 1),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (secondary_category IS NULL OR secondary_category <> primary_category)
);
CREATE INDEX idx_file_categories_primary ON midi.file_categories (primary_category);

-- Every file that could not be analyzed (latest attempt), with a stable error class.
CREATE TABLE midi.analysis_errors (
    file_id      bigint PRIMARY KEY REFERENCES midi.files (id) ON DELETE CASCADE,
    error_class  text NOT NULL CHECK (error_class ~ '^[a-z][a-z_]*$'),
    message      text NOT NULL,
    parser       text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_analysis_errors_class ON midi.analysis_errors (error_class);
