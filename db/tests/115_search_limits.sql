-- The search API's limits: a text longer than the API accepts is cut at a word boundary and never errors
-- (a megabyte of words, of one word, of tsquery operators, of NUL-free junk), as the reader runs it;
-- search_count's exact count is bounded whatever cap a caller asks for.
BEGIN;
SELECT plan(16);
\ir fixtures/search_library.sql
SELECT midi.refresh_views();

SELECT is(midi._clip_query('deep bass'), 'deep bass', 'a short text is kept as it is');
SELECT is(midi._clip_query(repeat('x', 250) || ' bass line'), repeat('x', 250) || ' bass',
          'a long text is cut at the last word boundary inside the limit');
SELECT is(length(midi._clip_query(repeat('a', 1000000))), 256, 'one giant word is cut at the limit');
SELECT ok((SELECT length(c) <= 256 AND left(q, length(c)) = c AND substr(q, length(c) + 1, 1) ~ '\s'
             FROM (SELECT q, midi._clip_query(q) AS c FROM (SELECT repeat('bass drum ', 100000) AS q) x) y),
          'a megabyte of words is cut to a prefix ending at a word boundary');

SET LOCAL ROLE midi_reader;
SELECT is((SELECT array_agg(id ORDER BY id) FROM midi.search(q => repeat('bass ', 200000))),
          (SELECT array_agg(id ORDER BY id) FROM midi.search(q => 'bass')),
          'search: a megabyte of one repeated word finds what the word finds');
SELECT lives_ok($$SELECT * FROM midi.search(q => repeat('a', 1000000))$$, 'search: a megabyte-long word');
SELECT lives_ok($$SELECT * FROM midi.search(q => repeat('!&|<->():*''"\-or ', 60000))$$,
                'search: a megabyte of tsquery operators');
SELECT lives_ok($$SELECT * FROM midi.search(q => repeat('bass ', 200000), fuzzy => true)$$,
                'search: a megabyte of words, fuzzy');
SELECT lives_ok($$SELECT * FROM midi.search_count(q => repeat('"bass -drum or ', 70000))$$,
                'search_count: a megabyte of phrases, negations and or');
SELECT lives_ok($$SELECT * FROM midi.facets(q => repeat('(bass) & !drum ', 70000))$$,
                'facets: a megabyte of operators');
SELECT lives_ok($$SELECT * FROM midi.explain_search(q => repeat('bass ', 200000))$$, 'explain_search: a megabyte');
RESET ROLE;
-- NUL-free junk: every code point but NUL and the surrogates, a megabyte of them, seeded
SELECT setseed(0.42);
CREATE TEMP TABLE junk AS
    SELECT i, string_agg(chr(CASE WHEN c >= 55296 THEN c + 2048 ELSE c END), '') AS q
      FROM (SELECT i, 1 + floor(random() * CASE WHEN i % 2 = 0 THEN 127 ELSE 1112062 END)::integer AS c
              FROM generate_series(1, 20) i, generate_series(1, 50000) j) x
     GROUP BY i;
GRANT SELECT ON junk TO midi_reader;
SET LOCAL ROLE midi_reader;
SELECT lives_ok($$SELECT count(*) FROM junk, LATERAL midi.search(q => junk.q)$$, 'search: binary junk');
SELECT lives_ok($$SELECT count(*) FROM junk, LATERAL midi.search(q => junk.q, fuzzy => true)$$, 'search: binary junk, fuzzy');
SELECT lives_ok($$SELECT count(*) FROM junk, LATERAL midi.search_count(q => junk.q)$$, 'search_count: binary junk');
RESET ROLE;

-- a caller cannot ask for an unbounded exact count: above 100,000 the count is an estimate
INSERT INTO midi.files (filename, filepath, content_hash, file_size_bytes, search_vector)
SELECT 'Filler.mid', '/filler/' || i || '.mid', sha256(('filler' || i)::bytea), 1, ''
  FROM generate_series(1, 100001) i;
SET LOCAL ROLE midi_reader;
SELECT ok((SELECT files > 100000 AND NOT exact FROM midi.search_count(cap => 200000)),
          'cap 200,000 over 100,011 files: an estimate, not an exact count of them all');
SELECT lives_ok($$SELECT * FROM midi.search_count(cap => 2147483647)$$, 'the largest cap is not an error');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
