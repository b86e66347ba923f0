-- The enum types hold exactly the canonical key spellings and the browsing categories.
BEGIN;
SELECT plan(6);
SELECT has_enum('midi', 'musical_key', 'musical_key exists');
SELECT enum_has_labels('midi', 'musical_key', ARRAY[
    'C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B',
    'Cm', 'C#m', 'Dm', 'Ebm', 'Em', 'Fm', 'F#m', 'Gm', 'Abm', 'Am', 'Bbm', 'Bm', 'UNKNOWN'],
    '24 keys with one spelling each, then UNKNOWN');
SELECT throws_ok($$SELECT 'G#m'::midi.musical_key$$, '22P02', NULL, 'G#m is not a spelling (Abm is)');
SELECT has_enum('midi', 'file_category', 'file_category exists');
SELECT enum_has_labels('midi', 'file_category', ARRAY[
    'drums', 'kick', 'snare', 'hats', 'cymbals', 'percussion',
    'bass', 'chords', 'pad', 'lead', 'melody', 'arp', 'pluck',
    'keys', 'piano', 'organ', 'guitar', 'strings', 'brass', 'woodwind', 'synth',
    'fx', 'vocal', 'full_mix', 'unknown'], 'the browsing categories');
SELECT is((SELECT count(*)::int FROM unnest(enum_range(NULL::midi.musical_key)) k WHERE k <> 'UNKNOWN'), 24,
          'exactly 24 keys');
SELECT * FROM finish();
ROLLBACK;
