-- midi.facets: values inside a dimension combine with OR and dimensions with AND (each dimension is
-- counted under every filter but its own); no filter at all reads the materialized views, which
-- midi.refresh_views() brings up to date; a sampled count (for filters that match much of a big library)
-- is scaled back to the whole and flagged exact = false (checked against exact counts on a table of
-- hundreds of pages, so that a sample really reads part of it).
BEGIN;
SELECT plan(20);
\ir fixtures/search_library.sql
SELECT midi.refresh_views();

CREATE FUNCTION pg_temp.f(facet text, args text DEFAULT '') RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE 'SELECT string_agg(value || ''='' || files, '' '' ORDER BY value) FROM midi.facets('
            || concat_ws(', ', nullif(args, ''), 'facet_limit => 50') || ') WHERE facet = $1' INTO r USING facet;
    RETURN r;
END $$;

SELECT is(pg_temp.f('manufacturer'), 'Bass Boutique=2 Chord Club=3 Loopforge=4', 'manufacturers of the library');
SELECT is(pg_temp.f('key'), 'Am=2 C=1 Dm=1 Em=1 F=2 G=1', 'keys of the library');
SELECT is(pg_temp.f('bpm'), '120=2 130=1 140=1 240=1 60=1 90=2', 'bpm buckets of the library (10 BPM, lower bound)');
SELECT is(pg_temp.f('tag'), 'cinematic=1 lofi=1 warm=3', 'tags of the library');
SELECT is(pg_temp.f('category'), 'bass=2 chords=1 drums=1 fx=1 keys=1 kick=1 lead=1 melody=1', 'categories');

-- a key chosen: the key facet still lists the other keys (OR within), other facets narrow (AND across)
SELECT is(pg_temp.f('key', $$keys => '{Am}'$$), 'Am=2 C=1 Dm=1 Em=1 F=2 G=1', 'own dimension is not narrowed by itself');
SELECT is(pg_temp.f('manufacturer', $$keys => '{Am}'$$), 'Chord Club=1 Loopforge=1', 'other dimensions are');
SELECT is(pg_temp.f('key', $$keys => '{Am}', manufacturer => '{Loopforge}'$$), 'Am=1 F=1',
          'a dimension is narrowed by the other dimensions');
SELECT is(pg_temp.f('manufacturer', $$keys => '{Am,F}', manufacturer => '{Loopforge}'$$), 'Chord Club=1 Loopforge=2',
          'two keys: OR inside the key dimension');
SELECT is(pg_temp.f('tag', $$q => 'bass'$$), 'cinematic=1 warm=1', 'text query narrows every dimension');

-- unfiltered facets come from the views: a new file shows after refresh_views, filtered ones at once
INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, manufacturer)
VALUES (11, 'New.mid', '/lib/New.mid', sha256('11'), 1, 'Newcomer');
SELECT is(pg_temp.f('manufacturer'), 'Bass Boutique=2 Chord Club=3 Loopforge=4', 'no filter: the views (not yet refreshed)');
SELECT is(pg_temp.f('manufacturer', $$q => 'new'$$), 'Newcomer=1', 'a filter: live counts');
SELECT midi.refresh_views();
SELECT is(pg_temp.f('manufacturer'), 'Bass Boutique=2 Chord Club=3 Loopforge=4 Newcomer=1', 'after refresh_views');

SELECT ok((SELECT bool_and(exact) FROM midi.facets(q => 'bass')), 'few matches: exact counts');
CREATE FUNCTION pg_temp.sampled(pct real) RETURNS TABLE (value text, files bigint, exact boolean) LANGUAGE plpgsql AS $$
DECLARE
    a midi._search_args := midi._search_args(midi._filters('{}'));
BEGIN
    RETURN QUERY EXECUTE 'SELECT s.value, s.files, s.exact FROM (' || midi._facet_sql(a, ARRAY['key'], NULL, true)
                         || ') AS s(facet, value, files, exact)'
       USING a, 50, pct;
END $$;
CREATE FUNCTION pg_temp.text_of(pct real) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(value || '=' || files || ' ' || exact, ' ' ORDER BY value) FROM pg_temp.sampled(pct)
$$;
SELECT is(pg_temp.text_of(100), 'Am=2 false C=1 false Dm=1 false Em=1 false F=2 false G=1 false',
          'a 100 percent sample of the small library counts everything, flagged as sampled');

-- 4,000 more files with a long path each (about eight rows per page): the table spans hundreds of pages,
-- so a page sample reads part of it. Counts to compare with are plain exact counts, not a sample.
INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, cached_key)
SELECT 1000 + i, 'Big_' || i || '.mid', '/lib/big/' || repeat('x', 900) || '/' || i || '.mid', sha256(int8send(1000 + i)), 1,
       (ARRAY['C', 'G', 'Am', 'Em', 'F']::midi.musical_key[])[1 + i % 5 + (i % 7 = 0)::int * (i % 2)]
  FROM generate_series(1, 4000) AS i;
CREATE TEMP TABLE truth AS
    SELECT cached_key::text AS value, count(*) AS files FROM midi.files WHERE cached_key IS NOT NULL GROUP BY 1;
SELECT cmp_ok(pg_relation_size('midi.files') / current_setting('block_size')::bigint, '>=', 300::bigint,
              'the table spans hundreds of pages');
SELECT is(pg_temp.text_of(100), (SELECT string_agg(value || '=' || files || ' false', ' ' ORDER BY value) FROM truth),
          'a 100 percent sample equals the exact counts, flagged as sampled');
SELECT is((SELECT count(*)::int FROM pg_temp.sampled(50) s JOIN truth t USING (value)
            WHERE t.files >= 100 AND abs(s.files - t.files) <= 0.25 * t.files), 5,
          'a 50 percent sample, scaled back, is within 25 percent of every large exact count');
SELECT ok((SELECT bool_and(s.files % 2 = 0) AND bool_or(s.files <> t.files) AND NOT bool_or(s.exact)
             FROM pg_temp.sampled(50) s JOIN truth t USING (value)),
          'those counts are sampled rows times two (not the exact counts), flagged exact = false');
SELECT ok((SELECT abs(sum(s.files) - (SELECT sum(files) FROM truth)) <= 0.2 * (SELECT sum(files) FROM truth)
             AND abs(sum(s.files) - (SELECT sum(files) FROM truth)) > 0
             FROM pg_temp.sampled(50) s),
          'the scaled total is near the real total, not equal to it');
SELECT * FROM finish();
ROLLBACK;
