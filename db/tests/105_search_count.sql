-- midi.search_count: the exact number of matches up to cap; beyond it the planner's estimate, never
-- below cap + 1, flagged exact = false.
BEGIN;
SELECT plan(7);
\ir fixtures/search_library.sql

SELECT is((SELECT files FROM midi.search_count()), 10::bigint, 'everything');
SELECT is((SELECT (files, exact)::text FROM midi.search_count(q => 'bass')), '(5,t)', 'a text query, exact');
SELECT is((SELECT files FROM midi.search_count(bpm_min => 120, bpm_max => 130, bpm_halfdouble => true)), 5::bigint,
          'same filters as search');
SELECT is((SELECT files FROM midi.search_count(q => 'nosuchword')), 0::bigint, 'no match');
SELECT is((SELECT (files, exact)::text FROM midi.search_count(q => 'bass', cap => 5)), '(5,t)', 'exactly cap is exact');
SELECT ok((SELECT files >= 3 AND NOT exact FROM midi.search_count(q => 'bass', cap => 2)),
          'above cap: an estimate of at least cap + 1, flagged');
SELECT throws_ok($$SELECT * FROM midi.search_count(cap => -1)$$, '22023', NULL, 'a negative cap is an error');
SELECT * FROM finish();
ROLLBACK;
