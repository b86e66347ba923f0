-- Import pipeline objects: the COPY staging table, structural and filename-derived columns on files,
-- and the vocabulary of genre and structure words that filename parsing recognises.
-- depends: 0004_create_library_tables

-- Rows stream in with COPY, one chunk at a time, and midi.import_merge(batch, chunk) moves them out in
-- the same transaction. UNLOGGED: a crash can only lose chunks that were never committed anyway.
CREATE UNLOGGED TABLE midi.import_staging (
    batch_id                bigint NOT NULL,
    chunk                   integer NOT NULL,
    root                    text NOT NULL,
    path                    text COLLATE "C" NOT NULL,
    path_bytes              bytea,
    rel                     text NOT NULL,
    content_hash            bytea,
    file_size_bytes         bigint,
    format                  smallint,
    header_tracks           integer,
    num_tracks              integer,
    ticks_per_quarter_note  integer,
    smpte_fps               smallint,
    smpte_resolution        smallint,
    is_rmid                 boolean,
    warnings                text[],
    error_class             text,
    message                 text
);
CREATE INDEX idx_import_staging_chunk ON midi.import_staging (batch_id, chunk);

ALTER TABLE midi.files
    ADD COLUMN header_tracks       integer CHECK (header_tracks >= 0),
    ADD COLUMN smpte_fps           smallint CHECK (smpte_fps IN (24, 25, 29, 30)),
    ADD COLUMN smpte_resolution    smallint CHECK (smpte_resolution > 0),
    ADD COLUMN is_rmid             boolean NOT NULL DEFAULT false,
    ADD COLUMN midi_warnings       text[] NOT NULL DEFAULT '{}',
    ADD COLUMN filename_bpm        numeric(6, 2) CHECK (filename_bpm BETWEEN 1 AND 1000),
    ADD COLUMN filename_key        midi.musical_key,
    ADD COLUMN filename_genres     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN filename_structure  text[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN midi.files.midi_warnings IS
    'Structural problems of a readable file (track_count_mismatch, truncated_track, trailing_garbage, ...)';
COMMENT ON COLUMN midi.files.filename_bpm IS 'BPM read from the file name (124bpm, 124_BPM, a lone 40..250 number)';
COMMENT ON COLUMN midi.files.filename_key IS 'Key read from the file name (Am, A min, F#m, Ebmaj; Cmaj7 is a chord, not a key)';

-- Words that file and folder names use for genres and song structure, matched on word boundaries.
CREATE TABLE midi.vocabulary (
    word   text NOT NULL CHECK (word ~ '^[a-z0-9&]+( [a-z0-9&]+)*$'),  -- plain words: they are joined into a regex
    kind   text NOT NULL CHECK (kind IN ('genre', 'structure')),
    label  text NOT NULL,
    PRIMARY KEY (kind, word)
);
INSERT INTO midi.vocabulary (word, kind, label) VALUES
    ('house', 'genre', 'house'), ('deephouse', 'genre', 'deep house'), ('deep house', 'genre', 'deep house'),
    ('techhouse', 'genre', 'tech house'), ('tech house', 'genre', 'tech house'),
    ('techno', 'genre', 'techno'), ('trance', 'genre', 'trance'), ('psytrance', 'genre', 'psytrance'),
    ('dubstep', 'genre', 'dubstep'), ('dnb', 'genre', 'drum and bass'), ('drum and bass', 'genre', 'drum and bass'),
    ('drumnbass', 'genre', 'drum and bass'), ('jungle', 'genre', 'jungle'),
    ('hiphop', 'genre', 'hip hop'), ('hip hop', 'genre', 'hip hop'), ('trap', 'genre', 'trap'),
    ('rnb', 'genre', 'rnb'), ('r&b', 'genre', 'rnb'), ('pop', 'genre', 'pop'), ('rock', 'genre', 'rock'),
    ('jazz', 'genre', 'jazz'), ('funk', 'genre', 'funk'), ('disco', 'genre', 'disco'), ('soul', 'genre', 'soul'),
    ('edm', 'genre', 'edm'), ('lofi', 'genre', 'lofi'), ('lo fi', 'genre', 'lofi'), ('ambient', 'genre', 'ambient'),
    ('reggaeton', 'genre', 'reggaeton'), ('afrobeat', 'genre', 'afrobeat'), ('afro', 'genre', 'afro'),
    ('garage', 'genre', 'garage'), ('ukg', 'genre', 'garage'), ('breakbeat', 'genre', 'breakbeat'),
    ('electro', 'genre', 'electro'), ('progressive', 'genre', 'progressive'), ('minimal', 'genre', 'minimal'),
    ('latin', 'genre', 'latin'), ('cinematic', 'genre', 'cinematic'), ('future bass', 'genre', 'future bass'),
    ('hardstyle', 'genre', 'hardstyle'), ('synthwave', 'genre', 'synthwave'), ('reggae', 'genre', 'reggae'),
    ('dancehall', 'genre', 'dancehall'), ('drill', 'genre', 'drill'), ('grime', 'genre', 'grime'),
    ('chillout', 'genre', 'chillout'), ('downtempo', 'genre', 'downtempo'), ('classical', 'genre', 'classical'),
    ('blues', 'genre', 'blues'), ('country', 'genre', 'country'), ('metal', 'genre', 'metal'),
    ('intro', 'structure', 'intro'), ('verse', 'structure', 'verse'), ('chorus', 'structure', 'chorus'),
    ('prechorus', 'structure', 'pre-chorus'), ('pre chorus', 'structure', 'pre-chorus'),
    ('hook', 'structure', 'hook'), ('bridge', 'structure', 'bridge'), ('drop', 'structure', 'drop'),
    ('breakdown', 'structure', 'breakdown'), ('build', 'structure', 'build-up'), ('buildup', 'structure', 'build-up'),
    ('build up', 'structure', 'build-up'), ('outro', 'structure', 'outro'), ('fill', 'structure', 'fill'),
    ('loop', 'structure', 'loop'), ('break', 'structure', 'break'), ('riff', 'structure', 'riff'),
    ('groove', 'structure', 'groove'), ('ending', 'structure', 'outro'), ('turnaround', 'structure', 'turnaround'),
    ('oneshot', 'structure', 'one-shot'), ('one shot', 'structure', 'one-shot'), ('full', 'structure', 'full');
