-- midi.search_count: the exact number of matches up to cap; beyond it the planner's estimate, never
-- below cap + 1, flagged exact = false.
BEGIN;
SELECT plan(10);
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
-- Without reading a row only when the statistics count the matches themselves: two words in half the
-- library each that no file holds together are estimated (as independent) at a quarter of it, and the count
-- must still be exact; one word alone is the sample's own count (every document sampled here).
INSERT INTO midi.files (filename, filepath, content_hash, file_size_bytes)
SELECT CASE WHEN i % 2 = 0 THEN 'Alphaword ' ELSE 'Omegaword ' END || i || '.mid', '/ao/' || i || '.mid',
       sha256(('ao' || i)::bytea), 1
  FROM generate_series(1, 10000) i;
SELECT midi.refresh_views();
SELECT is((SELECT (files, exact)::text FROM midi.search_count(q => 'alphaword omegaword', cap => 10)), '(0,t)',
          'two words never together, each in half the library: exactly 0, not the product of their shares');
SELECT is((SELECT (files, exact)::text FROM midi.search_count(q => 'alphaword', cap => 10)), '(5000,f)',
          'one word above cap: the sampled count, flagged');
SELECT is((SELECT (files, exact)::text FROM midi.search_count(q => 'alphaword', manufacturer => '{Nobody}', cap => 10)), '(0,t)',
          'one word and a filter no file matches: counted, exact 0');

SELECT * FROM finish();
ROLLBACK;
