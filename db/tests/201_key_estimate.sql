-- Keys from pitch-class histograms, in SQL, for each of the four profiles: a profile's own shape rotated to
-- a tonic is that key with correlation 1; a scale gives its key; transposing the histogram transposes the
-- key; flat or empty histograms give no key; confidence comes from the gap to the second key.
BEGIN;
SELECT plan(28);

SELECT is((SELECT count(*)::int FROM midi.key_profiles), 4, 'four profiles');
SELECT is((SELECT name FROM midi.key_profiles WHERE is_default), 'aarden', 'Aarden-Essen is the default');
SELECT is((SELECT count(*)::int FROM midi.key_templates), 96, '24 templates per profile');
SELECT ok((SELECT bool_and(abs(midi._dot12(weights, weights) - 1) < 1e-9
                           AND abs(weights[1] + weights[2] + weights[3] + weights[4] + weights[5] + weights[6] + weights[7]
                                   + weights[8] + weights[9] + weights[10] + weights[11] + weights[12]) < 1e-9)
             FROM midi.key_templates), 'templates are centred and of unit length');

-- each profile's major shape rotated to G, and minor shape rotated to B, is found with r = 1
SELECT is((SELECT e.key::text || ' ' || round(e.correlation::numeric, 6)
             FROM midi.key_profiles p,
                  LATERAL midi.estimate_key(ARRAY(SELECT p.major[((i - 7 + 12) % 12) + 1] FROM generate_series(0, 11) i), p.name) e
            WHERE p.name = prof), 'G 1.000000', prof || ': its own G major shape is G')
  FROM unnest(ARRAY['krumhansl', 'aarden', 'temperley', 'bellman']) AS prof;
SELECT is((SELECT e.key::text || ' ' || round(e.correlation::numeric, 6)
             FROM midi.key_profiles p,
                  LATERAL midi.estimate_key(ARRAY(SELECT p.minor[((i - 11 + 12) % 12) + 1] FROM generate_series(0, 11) i), p.name) e
            WHERE p.name = prof), 'Bm 1.000000', prof || ': its own B minor shape is Bm')
  FROM unnest(ARRAY['krumhansl', 'aarden', 'temperley', 'bellman']) AS prof;

-- a C major scale with tonic and dominant held longest, and an A harmonic minor one, under every profile
SELECT is((SELECT key::text FROM midi.estimate_key('{0.25,0,0.1,0,0.12,0.08,0,0.2,0,0.1,0,0.05}', prof)), 'C',
          prof || ': C major scale')
  FROM unnest(ARRAY['krumhansl', 'aarden', 'temperley', 'bellman']) AS prof;
SELECT is((SELECT key::text FROM midi.estimate_key('{0.12,0,0.08,0,0.2,0.08,0,0,0.04,0.28,0,0.1}', prof)), 'Am',
          prof || ': A harmonic minor scale')
  FROM unnest(ARRAY['krumhansl', 'aarden', 'temperley', 'bellman']) AS prof;

SELECT is((SELECT key::text FROM midi.estimate_key('{0,0,0.25,0,0.1,0,0.12,0.08,0,0.2,0,0.1}')), 'D',
          'the C major histogram moved up two semitones is D major (default profile)');
SELECT is((SELECT key::text || ' ' || second_key FROM midi.estimate_key('{0.25,0,0.1,0,0.12,0.08,0,0.2,0,0.1,0,0.05}', 'temperley')),
          'C F', 'second-best key');
SELECT ok((SELECT confidence > 0 AND confidence <= 1
                  AND abs(confidence - (correlation - second_correlation) / (1 - second_correlation)) < 1e-6
             FROM midi.estimate_key('{0.25,0,0.1,0,0.12,0.08,0,0.2,0,0.1,0,0.05}')),
          'confidence is the gap (r1 - r2) / (1 - r2)');
SELECT ok((SELECT e1.confidence > 0.5 AND e2.confidence < 0.05
             FROM midi.key_profiles p,
                  midi.estimate_key(p.major, 'aarden') e1,
                  midi.estimate_key(ARRAY(SELECT p.major[i + 1] + p.major[((i - 7 + 12) % 12) + 1] FROM generate_series(0, 11) i),
                                    'aarden') e2
            WHERE p.name = 'aarden'),
          'a key''s own shape is confident; the sum of the C and G shapes, right between two keys, is not');
SELECT is_empty($$SELECT * FROM midi.estimate_key(array_fill(0::float8, ARRAY[12]))$$, 'all zero (drums only): no key');
SELECT is_empty($$SELECT * FROM midi.estimate_key(array_fill(0.5::float8, ARRAY[12]))$$, 'flat: no key');
SELECT is(midi.key_words('Ebm'), 'eb minor', 'key in words');
SELECT is((SELECT key::text || ' ' || coalesce(source, '-') FROM midi.choose_key(NULL, NULL, NULL)), 'UNKNOWN -',
          'no source: UNKNOWN');

SELECT * FROM finish();
ROLLBACK;
