-- Schema midi, its enum types and the text search configuration for file names.
-- depends:

CREATE SCHEMA midi;
COMMENT ON SCHEMA midi IS 'midicenter: MIDI library catalog, analysis and search API';

-- 24 keys, one canonical spelling each, plus UNKNOWN. Majors are the bare pitch name, minors add "m".
CREATE TYPE midi.musical_key AS ENUM (
    'C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B',
    'Cm', 'C#m', 'Dm', 'Ebm', 'Em', 'Fm', 'F#m', 'Gm', 'Abm', 'Am', 'Bbm', 'Bm',
    'UNKNOWN'
);

-- The instrument / role categories a producer browses a sample library by.
CREATE TYPE midi.file_category AS ENUM (
    'drums', 'kick', 'snare', 'hats', 'cymbals', 'percussion',
    'bass', 'chords', 'pad', 'lead', 'melody', 'arp', 'pluck',
    'keys', 'piano', 'organ', 'guitar', 'strings', 'brass', 'woodwind', 'synth',
    'fx', 'vocal', 'full_mix', 'unknown'
);

-- File names are searched by their words: English stemming ("kicks" finds "kick") but no stop words,
-- because "Am", "A" and "In" are keys and musical words in this domain, not noise.
CREATE TEXT SEARCH DICTIONARY midi.english_stem_keepall (TEMPLATE = snowball, language = english);
CREATE TEXT SEARCH CONFIGURATION midi.names (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION midi.names
    ALTER MAPPING FOR asciiword, word, hword, hword_part, hword_asciipart, asciihword
    WITH midi.english_stem_keepall;
