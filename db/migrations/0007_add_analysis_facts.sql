-- Analysis facts: the columns analysis fills beyond the seed schema, the key profiles keys are derived
-- from, the words and GM programs category rules read, and the COPY staging table of analysis batches.
-- depends: 0006_create_search_objects

-- Which analyzer wrote a file's facts; files analyzed by an older one are claimed again.
ALTER TABLE midi.files ADD COLUMN analyzer_version integer CHECK (analyzer_version > 0);
COMMENT ON COLUMN midi.files.analyzer_version IS
    'Version of the runner analyzer that produced this file''s facts (NULL: never analyzed)';

ALTER TABLE midi.musical_metadata
    ADD COLUMN parser               text CHECK (parser IN ('symusic', 'mido')),
    ADD COLUMN bpm_source           text CHECK (bpm_source IN ('meta', 'filename', 'default')),
    ADD COLUMN has_tempo_changes    boolean NOT NULL DEFAULT false,
    ADD COLUMN tempo_map            jsonb,
    ADD COLUMN time_signatures      jsonb,
    ADD COLUMN key_from_signature   midi.musical_key,
    ADD COLUMN key_from_filename    midi.musical_key,
    ADD COLUMN key_estimate         midi.musical_key,
    ADD COLUMN key_estimate_second  midi.musical_key,
    ADD COLUMN key_correlation      real CHECK (key_correlation BETWEEN -1 AND 1),
    ADD COLUMN key_confidence       real CHECK (key_confidence BETWEEN 0 AND 1),
    ADD COLUMN key_profile          text,
    ADD COLUMN key_source           text CHECK (key_source IN ('signature', 'filename', 'estimate')),
    ADD COLUMN pitch_class_histogram float8[]
        CHECK (pitch_class_histogram IS NULL
               OR (cardinality(pitch_class_histogram) = 12 AND array_ndims(pitch_class_histogram) = 1)),
    ADD COLUMN drum_note_count      integer NOT NULL DEFAULT 0 CHECK (drum_note_count >= 0),
    ADD COLUMN track_names          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN instrument_names     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN copyright            text,
    ADD COLUMN markers              text[] NOT NULL DEFAULT '{}',
    ADD COLUMN has_lyrics           boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN midi.musical_metadata.key_signature IS
    'The chosen key: key_from_signature, else key_from_filename, else key_estimate (key_source says which)';
COMMENT ON COLUMN midi.musical_metadata.key_from_signature IS
    'Key of the key-signature events covering the most time; NULL when absent or a lone C major (a sequencer default)';
COMMENT ON COLUMN midi.musical_metadata.key_estimate IS
    'Best key by correlating pitch_class_histogram with the key profile key_profile';
COMMENT ON COLUMN midi.musical_metadata.key_confidence IS
    'Gap between best and second key correlation, scaled to 0..1: (r1 - r2) / (1 - r2), 0 when r1 <= 0';
COMMENT ON COLUMN midi.musical_metadata.pitch_class_histogram IS
    'Sounding seconds per pitch class (C first) of non-drum notes, normalised to sum 1; all zero without pitched notes';
COMMENT ON COLUMN midi.musical_metadata.bpm_source IS
    'meta: a tempo event; filename: no tempo event, the file name states it; default: MIDI''s implicit 120';
COMMENT ON COLUMN midi.musical_metadata.tempo_map IS 'Tempo segments inside the file: [[tick, bpm], ...]';
COMMENT ON COLUMN midi.musical_metadata.time_signatures IS 'Time-signature changes: [[tick, numerator, denominator], ...]';

-- Key profiles: weights per pitch class relative to the tonic (tonic first), as published.
CREATE TABLE midi.key_profiles (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    title       text NOT NULL,
    reference   text NOT NULL,
    major       float8[] NOT NULL CHECK (cardinality(major) = 12 AND array_ndims(major) = 1),
    minor       float8[] NOT NULL CHECK (cardinality(minor) = 12 AND array_ndims(minor) = 1),
    is_default  boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX key_profiles_one_default ON midi.key_profiles (is_default) WHERE is_default;
COMMENT ON TABLE midi.key_profiles IS 'Key profiles keys are estimated with; the default one is used by analysis';
INSERT INTO midi.key_profiles (name, title, reference, major, minor, is_default) VALUES
    ('krumhansl', 'Krumhansl-Kessler', 'Krumhansl & Kessler 1982, probe-tone ratings',
     '{6.35,2.23,3.48,2.33,4.38,4.09,2.52,5.19,2.39,3.66,2.29,2.88}',
     '{6.33,2.68,3.52,5.38,2.60,3.53,2.54,4.75,3.98,2.69,3.34,3.17}', false),
    ('aarden', 'Aarden-Essen', 'Aarden 2003, Essen folksong collection',
     '{17.7661,0.145624,14.9265,0.160186,19.8049,11.3587,0.291248,22.062,0.145624,8.15494,0.232998,4.95122}',
     '{18.2648,0.737619,14.0499,16.8599,0.702494,14.4362,0.702494,18.6161,4.56621,1.93186,7.37619,1.75623}', true),
    ('temperley', 'Temperley-Kostka-Payne', 'Temperley 2007, Kostka-Payne harmony textbook corpus',
     '{0.748,0.060,0.488,0.082,0.670,0.460,0.096,0.715,0.104,0.366,0.057,0.400}',
     '{0.712,0.084,0.474,0.618,0.049,0.460,0.105,0.747,0.404,0.067,0.133,0.330}', false),
    ('bellman', 'Bellman-Budge', 'Bellman 2005, Budge''s chord statistics',
     '{16.80,0.86,12.95,1.41,13.49,11.93,1.25,20.28,1.80,8.04,0.62,10.57}',
     '{18.16,0.69,12.99,13.34,1.07,11.15,1.38,21.07,7.49,1.53,0.92,10.21}', false);

-- The 24 correlation templates of each profile (rotated, centred, unit length), rebuilt from key_profiles
-- by a trigger in db/functions/30_analysis.sql, so a key is one dot product per template.
CREATE TABLE midi.key_templates (
    profile  text NOT NULL REFERENCES midi.key_profiles (name) ON DELETE CASCADE ON UPDATE CASCADE,
    key      midi.musical_key NOT NULL,
    weights  float8[] NOT NULL CHECK (cardinality(weights) = 12),
    PRIMARY KEY (profile, key)
);

-- General MIDI programs: their names and the category a part played on them suggests.
CREATE TABLE midi.gm_instruments (
    program   smallint PRIMARY KEY CHECK (program BETWEEN 0 AND 127),
    name      text NOT NULL,
    family    text NOT NULL,
    category  midi.file_category
);
INSERT INTO midi.gm_instruments (program, name, family, category)
SELECT p - 1, n, fam.family, fam.category
  FROM unnest(ARRAY[
    'Acoustic Grand Piano','Bright Acoustic Piano','Electric Grand Piano','Honky-tonk Piano','Electric Piano 1',
    'Electric Piano 2','Harpsichord','Clavinet','Celesta','Glockenspiel','Music Box','Vibraphone','Marimba',
    'Xylophone','Tubular Bells','Dulcimer','Drawbar Organ','Percussive Organ','Rock Organ','Church Organ',
    'Reed Organ','Accordion','Harmonica','Tango Accordion','Acoustic Guitar (nylon)','Acoustic Guitar (steel)',
    'Electric Guitar (jazz)','Electric Guitar (clean)','Electric Guitar (muted)','Overdriven Guitar',
    'Distortion Guitar','Guitar Harmonics','Acoustic Bass','Electric Bass (finger)','Electric Bass (pick)',
    'Fretless Bass','Slap Bass 1','Slap Bass 2','Synth Bass 1','Synth Bass 2','Violin','Viola','Cello',
    'Contrabass','Tremolo Strings','Pizzicato Strings','Orchestral Harp','Timpani','String Ensemble 1',
    'String Ensemble 2','Synth Strings 1','Synth Strings 2','Choir Aahs','Voice Oohs','Synth Voice',
    'Orchestra Hit','Trumpet','Trombone','Tuba','Muted Trumpet','French Horn','Brass Section','Synth Brass 1',
    'Synth Brass 2','Soprano Sax','Alto Sax','Tenor Sax','Baritone Sax','Oboe','English Horn','Bassoon',
    'Clarinet','Piccolo','Flute','Recorder','Pan Flute','Blown Bottle','Shakuhachi','Whistle','Ocarina',
    'Lead 1 (square)','Lead 2 (sawtooth)','Lead 3 (calliope)','Lead 4 (chiff)','Lead 5 (charang)',
    'Lead 6 (voice)','Lead 7 (fifths)','Lead 8 (bass + lead)','Pad 1 (new age)','Pad 2 (warm)',
    'Pad 3 (polysynth)','Pad 4 (choir)','Pad 5 (bowed)','Pad 6 (metallic)','Pad 7 (halo)','Pad 8 (sweep)',
    'FX 1 (rain)','FX 2 (soundtrack)','FX 3 (crystal)','FX 4 (atmosphere)','FX 5 (brightness)',
    'FX 6 (goblins)','FX 7 (echoes)','FX 8 (sci-fi)','Sitar','Banjo','Shamisen','Koto','Kalimba','Bagpipe',
    'Fiddle','Shanai','Tinkle Bell','Agogo','Steel Drums','Woodblock','Taiko Drum','Melodic Tom','Synth Drum',
    'Reverse Cymbal','Guitar Fret Noise','Breath Noise','Seashore','Bird Tweet','Telephone Ring','Helicopter',
    'Applause','Gunshot']) WITH ORDINALITY AS g(n, p)
  CROSS JOIN LATERAL (
    SELECT (ARRAY['piano','chromatic percussion','organ','guitar','bass','strings','ensemble','brass','reed',
                  'pipe','synth lead','synth pad','synth effects','ethnic','percussive','sound effects'])[(p - 1) / 8 + 1]
               AS family,
           (CASE
                WHEN p - 1 < 8 THEN 'piano' WHEN p - 1 < 16 THEN 'keys' WHEN p - 1 < 24 THEN 'organ'
                WHEN p - 1 < 32 THEN 'guitar' WHEN p - 1 < 40 THEN 'bass' WHEN p - 1 IN (45, 46) THEN 'pluck'
                WHEN p - 1 < 52 THEN 'strings' WHEN p - 1 < 55 THEN 'vocal' WHEN p - 1 = 55 THEN 'fx'
                WHEN p - 1 < 64 THEN 'brass' WHEN p - 1 < 80 THEN 'woodwind' WHEN p - 1 < 88 THEN 'lead'
                WHEN p - 1 < 96 THEN 'pad' WHEN p - 1 < 104 THEN 'fx' WHEN p - 1 < 112 THEN 'pluck'
                WHEN p - 1 < 120 THEN 'percussion' ELSE 'fx'
            END)::midi.file_category AS category) fam;
COMMENT ON TABLE midi.gm_instruments IS 'General MIDI program names, families and the category each suggests';

-- Words of file and folder names that name a category, matched as whole words. weight orders the
-- evidence when a name holds several ("Synth Bass" is bass, "Brass Stab" is brass, "Kick Drum" a kick).
CREATE TABLE midi.category_words (
    word      text PRIMARY KEY CHECK (word ~ '^[a-z0-9]+$'),
    category  midi.file_category NOT NULL,
    weight    smallint NOT NULL DEFAULT 3 CHECK (weight BETWEEN 1 AND 9)
);
INSERT INTO midi.category_words (word, category, weight) VALUES
    ('drum', 'drums', 3), ('drums', 'drums', 3), ('beat', 'drums', 2), ('beats', 'drums', 2),
    ('groove', 'drums', 1), ('grooves', 'drums', 1), ('fill', 'drums', 1), ('fills', 'drums', 1),
    ('breaks', 'drums', 1), ('breakbeat', 'drums', 2), ('top', 'drums', 1), ('drumloop', 'drums', 3),
    ('kick', 'kick', 4), ('kicks', 'kick', 4), ('bd', 'kick', 4), ('bassdrum', 'kick', 4),
    ('snare', 'snare', 4), ('snares', 'snare', 4), ('sd', 'snare', 4), ('clap', 'snare', 4),
    ('claps', 'snare', 4), ('rim', 'snare', 4), ('rims', 'snare', 4), ('rimshot', 'snare', 4),
    ('hat', 'hats', 4), ('hats', 'hats', 4), ('hihat', 'hats', 4), ('hihats', 'hats', 4), ('hh', 'hats', 4),
    ('cymbal', 'cymbals', 4), ('cymbals', 'cymbals', 4), ('crash', 'cymbals', 4), ('ride', 'cymbals', 3),
    ('perc', 'percussion', 4), ('percs', 'percussion', 4), ('percussion', 'percussion', 4),
    ('shaker', 'percussion', 4), ('shakers', 'percussion', 4), ('conga', 'percussion', 4),
    ('congas', 'percussion', 4), ('bongo', 'percussion', 4), ('bongos', 'percussion', 4),
    ('tambourine', 'percussion', 4), ('cowbell', 'percussion', 4), ('tops', 'percussion', 1),
    ('bass', 'bass', 3), ('basses', 'bass', 3), ('bassline', 'bass', 3), ('basslines', 'bass', 3),
    ('sub', 'bass', 2), ('subbass', 'bass', 3), ('reese', 'bass', 3),
    ('chord', 'chords', 3), ('chords', 'chords', 3), ('stab', 'chords', 1), ('stabs', 'chords', 1),
    ('progression', 'chords', 3), ('progressions', 'chords', 3),
    ('pad', 'pad', 3), ('pads', 'pad', 3), ('atmos', 'pad', 2), ('atmosphere', 'pad', 2),
    ('lead', 'lead', 3), ('leads', 'lead', 3),
    ('melody', 'melody', 3), ('melodies', 'melody', 3), ('mel', 'melody', 2), ('topline', 'melody', 3),
    ('toplines', 'melody', 3), ('hook', 'melody', 1), ('hooks', 'melody', 1),
    ('arp', 'arp', 3), ('arps', 'arp', 3), ('arpeggio', 'arp', 3), ('arpeggios', 'arp', 3), ('seq', 'arp', 2),
    ('sequence', 'arp', 2), ('sequences', 'arp', 2),
    ('pluck', 'pluck', 3), ('plucks', 'pluck', 3),
    ('keys', 'keys', 3), ('rhodes', 'keys', 3), ('ep', 'keys', 3), ('epiano', 'keys', 3), ('wurli', 'keys', 3),
    ('piano', 'piano', 3), ('pianos', 'piano', 3), ('organ', 'organ', 3), ('organs', 'organ', 3),
    ('guitar', 'guitar', 3), ('guitars', 'guitar', 3),
    ('strings', 'strings', 3), ('string', 'strings', 3), ('violin', 'strings', 3), ('cello', 'strings', 3),
    ('ensemble', 'strings', 2), ('pizzicato', 'strings', 3),
    ('brass', 'brass', 3), ('horn', 'brass', 3), ('horns', 'brass', 3), ('trumpet', 'brass', 3),
    ('trombone', 'brass', 3),
    ('flute', 'woodwind', 3), ('sax', 'woodwind', 3), ('saxophone', 'woodwind', 3), ('clarinet', 'woodwind', 3),
    ('oboe', 'woodwind', 3), ('woodwind', 'woodwind', 3), ('woodwinds', 'woodwind', 3),
    ('synth', 'synth', 1), ('synths', 'synth', 1),
    ('fx', 'fx', 3), ('sfx', 'fx', 3), ('riser', 'fx', 3), ('risers', 'fx', 3), ('sweep', 'fx', 3),
    ('sweeps', 'fx', 3), ('uplifter', 'fx', 3), ('uplifters', 'fx', 3), ('downlifter', 'fx', 3),
    ('impact', 'fx', 3), ('impacts', 'fx', 3),
    ('vocal', 'vocal', 3), ('vocals', 'vocal', 3), ('vox', 'vocal', 3), ('choir', 'vocal', 3),
    ('mix', 'full_mix', 1), ('fullmix', 'full_mix', 3), ('song', 'full_mix', 2), ('songs', 'full_mix', 2),
    ('arrangement', 'full_mix', 2), ('arrangements', 'full_mix', 2), ('construction', 'full_mix', 1);
COMMENT ON TABLE midi.category_words IS 'Whole words of file and folder names that name a category, with a weight';

-- Analysis results stream in with COPY, one batch per transaction, and midi.analysis_apply(batch) moves
-- them out in the same transaction. The fact columns follow runner.features.FACT_COLUMNS in order.
CREATE UNLOGGED TABLE midi.analysis_staging (
    batch                       bigint NOT NULL,
    file_id                     bigint NOT NULL,
    error_class                 text,
    message                     text,
    parser                      text,
    ticks_per_quarter           integer,
    duration_ticks              bigint,
    duration_seconds            double precision,
    bpm                         double precision,
    bpm_source                  text,
    has_tempo_changes           boolean,
    tempo_map                   jsonb,
    time_signature_numerator    smallint,
    time_signature_denominator  smallint,
    time_signatures             jsonb,
    key_from_signature          text,
    total_notes                 integer,
    drum_note_count             integer,
    unique_pitches              smallint,
    pitch_min                   smallint,
    pitch_max                   smallint,
    velocity_min                smallint,
    velocity_avg                double precision,
    velocity_max                smallint,
    note_density                double precision,
    polyphony_max               integer,
    polyphony_avg               double precision,
    is_monophonic               boolean,
    has_chords                  boolean,
    has_melody                  boolean,
    is_percussive               boolean,
    instruments                 jsonb,
    track_names                 text[],
    instrument_names            text[],
    copyright                   text,
    markers                     text[],
    has_lyrics                  boolean,
    pitch_class_histogram       double precision[]
);
CREATE INDEX idx_analysis_staging_batch ON midi.analysis_staging (batch);

-- Batch numbers of analysis_staging: one per claimed batch, from any number of concurrent runners.
CREATE SEQUENCE midi.analysis_batch_seq;
