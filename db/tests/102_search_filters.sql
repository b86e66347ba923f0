-- midi.search filters: each one alone returns exactly the files the fixture says, and filters combine
-- with AND (values inside one filter with OR).
BEGIN;
SELECT plan(32);
\ir fixtures/search_library.sql

CREATE FUNCTION pg_temp.ids(q text) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE r bigint[];
BEGIN
    EXECUTE 'SELECT ARRAY(SELECT id FROM midi.search(' || concat_ws(', ', nullif(q, ''), 'lim => 500') || ') ORDER BY id)' INTO r;
    RETURN r;
END $$;

SELECT is(pg_temp.ids(''), ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]::bigint[], 'no filter: every file');
SELECT is(pg_temp.ids('bpm_min => 120, bpm_max => 130'), ARRAY[1, 2, 8]::bigint[], 'bpm range, inclusive');
SELECT is(pg_temp.ids('bpm_min => 139'), ARRAY[4, 7]::bigint[], 'open-ended bpm range');
SELECT is(pg_temp.ids('bpm_min => 120, bpm_max => 130, bpm_halfdouble => true'), ARRAY[1, 2, 5, 7, 8]::bigint[],
          'half and double tempo too (62 and 248)');
SELECT is(pg_temp.ids($$keys => '{Am}'$$), ARRAY[1, 9]::bigint[], 'one key');
SELECT is(pg_temp.ids($$keys => '{Am,Dm}'$$), ARRAY[1, 6, 9]::bigint[], 'any of several keys (Dm from the name of 6)');
SELECT is(pg_temp.ids($$compatible_key => 'C'$$), ARRAY[1, 3, 5, 7, 8, 9]::bigint[],
          'compatible with C: C, Am, G, F');
SELECT is(pg_temp.ids($$keys => '{Em}', compatible_key => 'C'$$), ARRAY[1, 3, 4, 5, 7, 8, 9]::bigint[],
          'keys and compatible_key widen each other (one key dimension)');
SELECT is(pg_temp.ids($$manufacturer => '{Loopforge}'$$), ARRAY[1, 2, 8, 10]::bigint[], 'manufacturer');
SELECT is(pg_temp.ids($$manufacturer => '{Loopforge,Chord Club}'$$), ARRAY[1, 2, 3, 4, 8, 9, 10]::bigint[],
          'any of several manufacturers');
SELECT is(pg_temp.ids($$collection => '{Lofi Keys}'$$), ARRAY[3, 9]::bigint[], 'collection');
SELECT is(pg_temp.ids($$categories => '{bass,drums}'$$), ARRAY[1, 5, 7]::bigint[], 'categories');
SELECT is(pg_temp.ids($$tags_all => '{warm,lofi}'$$), ARRAY[3]::bigint[], 'all of these tags');
SELECT is(pg_temp.ids($$tags_all => '{WARM}'$$), ARRAY[1, 3, 8]::bigint[], 'tag names are case-insensitive');
SELECT is(pg_temp.ids($$tags_any => '{lofi,cinematic}'$$), ARRAY[3, 6]::bigint[], 'any of these tags');
SELECT is(pg_temp.ids($$tags_all => '{warm,nosuchtag}'$$), '{}'::bigint[], 'an unknown tag in tags_all matches nothing');
SELECT is(pg_temp.ids($$tags_any => '{nosuchtag}'$$), '{}'::bigint[], 'only unknown tags in tags_any match nothing');
SELECT is(pg_temp.ids($$time_signature => '3/4'$$), ARRAY[8, 9]::bigint[], 'time signature');
SELECT is(pg_temp.ids($$time_signature => ' 6 / 8 '$$), ARRAY[7]::bigint[], 'time signature, loosely written');
SELECT throws_ok($$SELECT * FROM midi.search(time_signature => 'waltz')$$, '22023', NULL, 'a bad time signature is a clear error');
SELECT is(pg_temp.ids('duration_min => 10, duration_max => 15'), ARRAY[4, 9]::bigint[], 'duration range');
SELECT is(pg_temp.ids('notes_min => 100'), ARRAY[3, 7]::bigint[], 'notes at least');
SELECT is(pg_temp.ids('notes_min => 40, notes_max => 70'), ARRAY[1, 8]::bigint[], 'notes range');
SELECT is(pg_temp.ids('percussive => true'), ARRAY[2, 7]::bigint[], 'percussive');
SELECT is(pg_temp.ids('favorites_only => true'), ARRAY[3, 8]::bigint[], 'favorites only');
SELECT is(pg_temp.ids('min_rating => 3'), ARRAY[1, 3]::bigint[], 'minimum rating');
SELECT is(pg_temp.ids($$bpm_min => 80, bpm_max => 130, keys => '{Am,F,C}', manufacturer => '{Loopforge,Chord Club}', tags_any => '{warm}'$$),
          ARRAY[1, 3, 8]::bigint[], 'filters combine with AND');
-- the same filters as one JSON object (what saved searches store and programs pass)
SELECT is(pg_temp.ids($$filters => '{"bpm_min": 80, "bpm_max": 130, "keys": ["Am", "F", "C"], "manufacturer": ["Loopforge", "Chord Club"], "tags_any": ["warm"]}'$$),
          ARRAY[1, 3, 8]::bigint[], 'filters as JSON: the same answer');
SELECT is(pg_temp.ids($$keys => '{Am}', filters => '{"keys": ["F"], "min_rating": 3}'$$), ARRAY[1]::bigint[],
          'a named filter wins over the same one in JSON; the others still apply');
SELECT is(pg_temp.ids($$favorites_only => false, filters => '{"favorites_only": true}'$$), ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]::bigint[],
          'an explicit false wins too');
SELECT throws_ok($$SELECT * FROM midi.search(filters => '{"bpm_minimum": 120}')$$, '22023',
                 'unknown search argument(s): bpm_minimum', 'an unknown JSON filter is an error, not ignored');
SELECT throws_ok($$SELECT * FROM midi.search_count(filters => '{"bpm_min": "fast"}')$$, '22P02', NULL,
                 'a JSON value of the wrong type is an error');
SELECT * FROM finish();
ROLLBACK;
