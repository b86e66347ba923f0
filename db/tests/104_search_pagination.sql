-- Ordering and keyset pagination: every sort gives the documented order; walking pages with the cursor
-- of each page's last row yields exactly the one-page answer (no row twice, none lost), also when files
-- are added between pages and when the relevance plan differs (ranked vs tiers); lim is capped at 500;
-- bad cursors are clear errors.
BEGIN;
SELECT plan(22);
\ir fixtures/search_library.sql

-- all pages of a search, walking the cursor; page size 3
CREATE FUNCTION pg_temp.walk(args text, page integer DEFAULT 3) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    out bigint[] := '{}';
    cur text;
    ids bigint[];
    last text;
BEGIN
    LOOP
        EXECUTE 'SELECT array_agg(id), (array_agg(cursor))[count(*)] FROM midi.search('
                || concat_ws(', ', nullif(args, ''), 'lim => $1', 'after => $2') || ')'
           INTO ids, last USING page, cur;
        EXIT WHEN ids IS NULL;
        out := out || ids;
        cur := last;
        EXIT WHEN cardinality(out) > 100;
    END LOOP;
    RETURN out;
END $$;
CREATE FUNCTION pg_temp.one(args text) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE r bigint[];
BEGIN
    EXECUTE 'SELECT ARRAY(SELECT id FROM midi.search(' || concat_ws(', ', nullif(args, ''), 'lim => 500') || '))' INTO r;
    RETURN r;
END $$;

SELECT is(pg_temp.one(''), ARRAY[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]::bigint[], 'newest first; equal created_at: higher id first');
SELECT is(pg_temp.one($$sort => 'bpm'$$), ARRAY[5, 3, 9, 1, 8, 2, 4, 7, 6, 10]::bigint[], 'bpm ascending, unknown bpm last');
SELECT is(pg_temp.one($$sort => 'duration'$$), ARRAY[2, 7, 10, 1, 9, 4, 3, 5, 6, 8]::bigint[], 'duration ascending, unknown last');
SELECT is(pg_temp.one($$sort => 'name'$$),
          ARRAY(SELECT id FROM midi.files ORDER BY filename, id), 'name order');
SELECT is(pg_temp.one($$q => 'bass', sort => 'newest'$$), ARRAY[10, 9, 6, 5, 1]::bigint[], 'q with newest order');
SELECT is(pg_temp.one($$sort => 'relevance'$$), pg_temp.one(''), 'relevance without q is newest');

SELECT is(pg_temp.walk(''), pg_temp.one(''), 'newest: pages = one page');
SELECT is(pg_temp.walk($$sort => 'bpm'$$), pg_temp.one($$sort => 'bpm'$$), 'bpm: pages = one page (across the unknown-bpm segment)');
SELECT is(pg_temp.walk($$sort => 'duration'$$, 2), pg_temp.one($$sort => 'duration'$$), 'duration: pages = one page');
SELECT is(pg_temp.walk($$sort => 'name'$$, 4), pg_temp.one($$sort => 'name'$$), 'name: pages = one page');
SELECT is(pg_temp.walk($$q => 'bass'$$, 2), ARRAY[1, 10, 9, 6, 5]::bigint[], 'relevance: pages = one page (across tiers)');
SELECT is(pg_temp.walk($$q => 'bass'$$, 1), ARRAY[1, 10, 9, 6, 5]::bigint[], 'relevance: one row per page');
SELECT is(pg_temp.walk($$keys => '{Am,F,C}', manufacturer => '{Loopforge,Chord Club}'$$, 1),
          pg_temp.one($$keys => '{Am,F,C}', manufacturer => '{Loopforge,Chord Club}'$$), 'filtered: pages = one page');

-- the two relevance plans (one ranked query, or tier by tier) give the same rows and cursors
CREATE FUNCTION pg_temp.run(q text, ranked boolean, after text DEFAULT NULL) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    a midi._search_args := midi._search_args(midi._filters(jsonb_build_object('q', q)), NULL, after);
    s text;
    out text[] := '{}';
    part text[];
BEGIN
    FOREACH s IN ARRAY midi._search_sql(a, NULL, ranked) LOOP
        EXECUTE 'SELECT array_agg(x.id || '' '' || x.rank || '' '' || x.cursor) FROM (' || s || ') x' INTO part USING a, 500;
        out := out || coalesce(part, '{}');
    END LOOP;
    RETURN out;
END $$;
SELECT is(pg_temp.run('bass', true), pg_temp.run('bass', false), 'ranked and tiered relevance agree');
SELECT is(pg_temp.run('bass', true, (SELECT cursor FROM midi.search(q => 'bass') OFFSET 1 LIMIT 1)),
          pg_temp.run('bass', false, (SELECT cursor FROM midi.search(q => 'bass') OFFSET 1 LIMIT 1)),
          'and continue from the same cursor alike');

-- stable under inserts: a file added between pages (newer than all) neither repeats nor shifts a row
SELECT cursor AS c3 FROM midi.search(lim => 3) OFFSET 2 LIMIT 1 \gset
INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, created_at)
VALUES (11, 'Newer.mid', '/lib/Newer.mid', sha256('11'), 1, '2024-03-02');
SELECT is(ARRAY(SELECT id FROM midi.search(lim => 3, after => :'c3')), ARRAY[7, 6, 5]::bigint[],
          'the next page after an insert continues where it left off');
SELECT is((SELECT id FROM midi.search(lim => 1)), 11::bigint, 'while a fresh first page shows the new file');

SELECT is((SELECT count(*)::integer FROM midi.search(lim => 1)), 1, 'lim');
INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes)
SELECT i, 'Bulk_' || i || '.mid', '/lib/bulk/' || i, sha256(int8send(i)), 1 FROM generate_series(1000, 1600) i;
SELECT is((SELECT count(*)::integer FROM midi.search(lim => 100000)), 500, 'lim is capped at 500');
SELECT throws_ok($$SELECT * FROM midi.search(lim => 0)$$, '22023', NULL, 'lim below 1 is an error');
SELECT throws_ok($$SELECT * FROM midi.search(after => 'garbage')$$, '22023', NULL, 'a garbage cursor is a clear error');
SELECT throws_ok($$SELECT * FROM midi.search(sort => 'bpm', after => (SELECT cursor FROM midi.search() LIMIT 1))$$,
                 '22023', NULL, 'a cursor of another sort is a clear error');
SELECT * FROM finish();
ROLLBACK;
