-- Tags: tag (creates tags, user source, counts new links), untag, rename (search words follow), merge
-- (links move to the target, sources deleted), tag_list; names are trimmed and lower case.
BEGIN;
SELECT plan(17);
\ir fixtures/search_library.sql

SELECT is(midi.tag(2, ' Punchy ', 'warm', 'punchy'), 2, 'tag: two new links (names normalised, duplicates once)');
SELECT is(midi.tag(2, 'warm'), 0, 'tag again: nothing new');
SELECT is((SELECT source FROM midi.file_tags ft JOIN midi.tags t ON t.id = ft.tag_id WHERE ft.file_id = 2 AND t.name = 'punchy'),
          'user', 'user tags are marked source = user');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'punchy')), ARRAY[2]::bigint[], 'a new tag is searchable at once');
SELECT throws_ok($$SELECT midi.tag(2, '  ')$$, '22023', NULL, 'an empty tag name is an error');
SELECT throws_ok($$SELECT midi.tag(999, 'x')$$, 'P0002', NULL, 'tagging an unknown file is an error');
SELECT is(midi.untag(2, 'WARM', 'nosuchtag'), 1, 'untag: one link removed');
SELECT is(ARRAY(SELECT tag FROM midi.tag_list(2)), ARRAY['punchy'], 'tag_list of a file');

SELECT id AS warm_id FROM midi.tags WHERE name = 'warm' \gset
SELECT is(midi.tag_rename('warm', 'Cosy'), :warm_id::bigint, 'rename returns the tag id');
SELECT is(ARRAY(SELECT id FROM midi.search(tags_all => '{cosy}') ORDER BY id), ARRAY[1, 3, 8]::bigint[], 'renamed tag filters');
SELECT is(ARRAY(SELECT id FROM midi.search(q => 'cosy') ORDER BY id), ARRAY[1, 3, 8]::bigint[], 'and is searched under its new name');
SELECT throws_ok($$SELECT midi.tag_rename('cosy', 'lofi')$$, '23505', NULL, 'renaming onto an existing tag: use merge');
SELECT throws_ok($$SELECT midi.tag_rename('nosuchtag', 'x')$$, 'P0002', NULL, 'renaming an unknown tag');

SELECT is(midi.tag_merge(ARRAY['lofi', 'cinematic'], 'cosy'), 1, 'merge: one file gains the target (3 had it)');
SELECT is(ARRAY(SELECT name FROM midi.tags ORDER BY name), ARRAY['cosy', 'punchy'], 'merged tags are gone');
SELECT is(ARRAY(SELECT id FROM midi.search(tags_all => '{cosy}') ORDER BY id), ARRAY[1, 3, 6, 8]::bigint[], 'their files carry the target');
SELECT is((SELECT string_agg(tag || '=' || files, ' ' ORDER BY tag) FROM midi.tag_list()), 'cosy=4 punchy=1',
          'tag_list of the library, with file counts');
SELECT * FROM finish();
ROLLBACK;
