-- Favorites (add, remove, toggle: each says what changed) and ratings (1..5, 0 or NULL clears), as
-- search sees them; an unknown file id is a clear error.
BEGIN;
SELECT plan(15);
\ir fixtures/search_library.sql

SELECT is(midi.favorite_add(1), true, 'add: new favorite');
SELECT is(midi.favorite_add(1), false, 'add again: already one');
SELECT is((SELECT is_favorite FROM midi.search(q => 'deep bass')), true, 'search shows it');
SELECT is(midi.favorite_remove(1), true, 'remove: was one');
SELECT is(midi.favorite_remove(1), false, 'remove again: was not');
SELECT is(midi.favorite_toggle(2), true, 'toggle on');
SELECT is(midi.favorite_toggle(2), false, 'toggle off');
SELECT is(ARRAY(SELECT id FROM midi.search(favorites_only => true) ORDER BY id), ARRAY[3, 8]::bigint[], 'favorites only');
SELECT throws_ok($$SELECT midi.favorite_add(999)$$, 'P0002', 'no file with id 999', 'an unknown file');

SELECT is(midi.rate(2, 4), 4::smallint, 'rate');
SELECT is(midi.rate(2, 2), 2::smallint, 'rate again replaces');
SELECT is(ARRAY(SELECT id FROM midi.search(min_rating => 2) ORDER BY id), ARRAY[1, 2, 3]::bigint[], 'search by rating');
SELECT is(midi.rate(2, 0), NULL::smallint, '0 clears');
SELECT throws_ok($$SELECT midi.rate(2, 6)$$, '22023', NULL, 'a rating is 1..5');
SELECT throws_ok($$SELECT midi.rate(999, 3)$$, 'P0002', NULL, 'rating an unknown file');
SELECT * FROM finish();
ROLLBACK;
