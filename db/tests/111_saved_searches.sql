-- Saved searches: a name and midi.search arguments as JSON; saved, replaced, run by name (same rows and
-- paging as midi.search), listed, deleted; bad arguments are rejected when saved.
BEGIN;
SELECT plan(11);
\ir fixtures/search_library.sql

SELECT ok(midi.saved_search_save('warm grooves', '{"q": "warm", "keys": ["Am", "F"], "sort": "newest"}') > 0, 'save');
SELECT is(ARRAY(SELECT id FROM midi.saved_search_run('warm grooves')),
          ARRAY(SELECT id FROM midi.search(q => 'warm', keys => '{Am,F}', sort => 'newest')), 'run = the same midi.search');
SELECT is(ARRAY(SELECT id FROM midi.saved_search_run('warm grooves', 1)), ARRAY[8]::bigint[], 'run with a page size');
SELECT is(ARRAY(SELECT id FROM midi.saved_search_run('warm grooves', 1, (SELECT cursor FROM midi.saved_search_run('warm grooves', 1)))),
          ARRAY[1]::bigint[], 'and with a cursor');
SELECT is(midi.saved_search_save('warm grooves', '{"bpm_min": 120, "bpm_halfdouble": true}'),
          (SELECT id FROM midi.saved_searches WHERE name = 'warm grooves'), 'saving again replaces, same id');
SELECT is(ARRAY(SELECT id FROM midi.saved_search_run('warm grooves') ORDER BY id), ARRAY[1, 2, 3, 4, 5, 7, 8, 9]::bigint[],
          'the new arguments (120+ BPM, or 60+ at half tempo)');
SELECT throws_ok($$SELECT midi.saved_search_save('bad', '{"bpm_minimum": 120}')$$, '22023',
                 'unknown search argument(s): bpm_minimum', 'unknown arguments are rejected');
SELECT throws_ok($$SELECT midi.saved_search_save('bad', '{"sort": "loudness"}')$$, '22023', NULL, 'a bad sort is rejected');
SELECT is(ARRAY(SELECT name FROM midi.saved_search_list()), ARRAY['warm grooves'], 'list');
SELECT is(midi.saved_search_delete('warm grooves'), true, 'delete');
SELECT throws_ok($$SELECT * FROM midi.saved_search_run('warm grooves')$$, 'P0002', NULL, 'running a deleted search');
SELECT * FROM finish();
ROLLBACK;
