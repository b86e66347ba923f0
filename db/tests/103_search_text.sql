-- Text search: web-search syntax through midi.names, prefix on the last word, never an error on odd
-- input; relevance tiers (every word in the file name 1.0, then elsewhere: manufacturer, collection,
-- folders, tags, category, instruments 0.5; newest first inside a tier); rank only when q is given;
-- fuzzy file-name matching by trigrams.
BEGIN;
SELECT plan(24);
\ir fixtures/search_library.sql

SELECT is(midi.parse_query('deep ba'), $$'deep' & 'ba':*$$::tsquery, 'the last word is a prefix');
SELECT is(midi.parse_query('"deep house"'), $$'deep' <-> 'hous'$$::tsquery, 'a closed phrase is not');
SELECT is(midi.parse_query('bass -drum'), $$'bass' & !'drum'$$::tsquery, 'a negated last word is not');
SELECT is(midi.parse_query('bass or lead'), $$'bass' | 'lead':*$$::tsquery, 'or');
SELECT is(midi.parse_query('Am'), $$'am':*$$::tsquery, 'no stop words: keys are words');
SELECT ok(midi.parse_query('  ') IS NULL AND midi.parse_query('!!! ---') IS NULL AND midi.parse_query(NULL) IS NULL,
          'nothing searchable is NULL');
SELECT lives_ok($$SELECT count(*) FROM unnest(ARRAY[
    '"', '""', '"bass', 'bass"', '(', ')', '((bass', '&', '|', '!', '<->', ':*', 'a:*b', '''', 'it''s',
    'bass & | !', '-', '--bass', 'or', 'or or', 'and', '\', E'\\x00', '%', '_', '*', 'ba*', '[a-z]', '{}',
    'ünïcödé ñ', '日本語', '🎹 piano', repeat('x', 3000), 'a b c d e f g h i j k l m n o p']) AS x,
    LATERAL midi.search(q => x)$$,
    'odd text never errors');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'bass')), ARRAY[1, 10, 9, 6, 5]::bigint[],
          'relevance: the file named bass, then manufacturer, folder and instrument matches newest first');
SELECT is(ARRAY(SELECT rank FROM midi.search(q => 'bass')), ARRAY[1.0, 0.5, 0.5, 0.5, 0.5]::real[], 'the tier ranks');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'warm')), ARRAY[8, 3, 1]::bigint[], 'tags are searched (weight D)');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'chords')), ARRAY[3, 9, 4]::bigint[],
          'the file named Chords before the files of Chord Club (prefix chord*)');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'bas')), ARRAY[1, 10, 9, 6, 5]::bigint[], 'prefix of the last word');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'deep bass')), ARRAY[1]::bigint[], 'all words must match');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'bass -keys')), ARRAY[1, 10, 6, 5]::bigint[], '-word excludes');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'kick or chords') ORDER BY id), ARRAY[2, 3, 4, 9]::bigint[], 'or');
SELECT is(ARRAY(SELECT id FROM midi.search(q => '"house bass"')), ARRAY[1]::bigint[], 'phrase');
SELECT is(ARRAY(SELECT id FROM midi.search(q => '"bass house"')), '{}'::bigint[], 'phrase order matters');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'Deep_House_Bass')), ARRAY[1]::bigint[], 'a file name typed as it is');
SELECT is(ARRAY(SELECT id FROM midi.search(q => '!!!') ORDER BY id), ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]::bigint[],
          'a query with no words does not filter');
SELECT ok((SELECT bool_and(rank IS NULL) FROM midi.search()), 'no q: no rank');
SELECT ok((SELECT bool_and(rank IS NOT NULL) FROM midi.search(q => 'bass', sort => 'name')),
          'q with another sort: rank still given');
SELECT is((SELECT id FROM midi.search(q => 'Melodey_Topline', fuzzy => true) LIMIT 1), 8::bigint, 'fuzzy finds a misspelt name');
SELECT ok((SELECT rank BETWEEN 0.3 AND 1 FROM midi.search(q => 'Melodey_Topline', fuzzy => true) LIMIT 1),
          'fuzzy rank is the trigram word similarity');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'Melodey_Topline')), '{}'::bigint[], 'without fuzzy the typo finds nothing');
SELECT * FROM finish();
ROLLBACK;
