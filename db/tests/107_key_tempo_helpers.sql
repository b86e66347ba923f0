-- Key and tempo helpers: pitch classes, relative keys (an involution over all 24 keys), circle-of-fifths
-- neighbours, compatible keys, half/double tempo and the tempo ranges search uses.
BEGIN;
SELECT plan(20);

SELECT is(midi.key_pitch_class('C'), 0, 'C is pitch class 0');
SELECT is(midi.key_pitch_class('Bbm'), 10, 'Bbm is pitch class 10');
SELECT is(midi.key_pitch_class('UNKNOWN'), NULL::integer, 'UNKNOWN has none');
SELECT ok(midi.key_is_minor('F#m') AND NOT midi.key_is_minor('F#'), 'minor or major');
SELECT is(midi.relative_key('C'), 'Am'::midi.musical_key, 'relative minor of C is Am');
SELECT is(midi.relative_key('Am'), 'C'::midi.musical_key, 'relative major of Am is C');
SELECT is(midi.relative_key('Eb'), 'Cm'::midi.musical_key, 'Eb -> Cm');
SELECT is(midi.relative_key('F#m'), 'A'::midi.musical_key, 'F#m -> A');
SELECT is((SELECT count(*)::integer FROM unnest(enum_range(NULL::midi.musical_key)) k
            WHERE k <> 'UNKNOWN' AND midi.relative_key(midi.relative_key(k)) = k
              AND midi.key_is_minor(midi.relative_key(k)) <> midi.key_is_minor(k)), 24,
          'relative_key swaps the mode and is its own inverse for all 24 keys');
SELECT is(midi.fifths_neighbours('C'), ARRAY['G', 'F']::midi.musical_key[], 'C: dominant G, subdominant F');
SELECT is(midi.fifths_neighbours('Am'), ARRAY['Em', 'Dm']::midi.musical_key[], 'Am: Em and Dm');
SELECT is(midi.fifths_neighbours('B'), ARRAY['F#', 'E']::midi.musical_key[], 'wraps around the octave');
SELECT is(midi.compatible_keys('C'), ARRAY['C', 'Am', 'G', 'F']::midi.musical_key[], 'C mixes with Am, G, F');
SELECT is(midi.compatible_keys('Ebm'), ARRAY['Ebm', 'F#', 'Bbm', 'Abm']::midi.musical_key[], 'Ebm mixes with F#, Bbm, Abm');
SELECT is(midi.compatible_keys('UNKNOWN'), NULL::midi.musical_key[], 'UNKNOWN mixes with nothing');
SELECT is(midi.half_double_tempo(124), ARRAY[62, 124, 248]::numeric[], 'half and double tempo');
SELECT is(midi.half_double_tempo(87.5), ARRAY[43.75, 87.5, 175]::numeric[], 'fractional tempo');
SELECT is(midi.tempo_ranges(120, 130), ARRAY['[120,130]']::numrange[], 'one range');
SELECT is(midi.tempo_ranges(120, 130, true), ARRAY['[120,130]', '[60,65]', '[240,260]']::numrange[], 'with half and double');
SELECT is(midi.tempo_ranges(NULL, NULL, true), NULL::numrange[], 'no bounds: no filter');
SELECT * FROM finish();
ROLLBACK;
