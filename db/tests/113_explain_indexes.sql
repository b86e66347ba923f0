-- At scale the main search shapes use their indexes: 100,000 files are generated inside this
-- transaction (ANALYZEd, so the planner sees their real distribution) and midi.explain_search shows the
-- plan of each shape. Plans are cost-based, with enable_seqscan on: these are the plans PostgreSQL
-- really picks for this data. (No VACUUM inside a transaction, so index-only plans are not asserted.)
BEGIN;
SELECT plan(15);

INSERT INTO midi.tags (id, name) VALUES (1, 'common'), (2, 'rare');
INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, manufacturer, collection_name, created_at,
                        cached_bpm, cached_key, cached_category, tag_ids, search_vector)
SELECT i, n.name, '/lib/' || i || '/' || n.name, sha256(int8send(i)), 1000, 'Maker ' || (i % 200), 'Pack ' || (i % 7),
       timestamptz '2024-01-01' + (i / 1000) * interval '1 hour', 60 + (i / 24) % 120,
       (enum_range(NULL::midi.musical_key))[1 + i % 24], (enum_range(NULL::midi.file_category))[1 + i % 24],
       CASE WHEN i % 5000 = 0 THEN '{1,2}'::bigint[] WHEN i % 2 = 0 THEN '{1}' ELSE '{}' END,
       setweight(to_tsvector('midi.names', replace(n.name, '_', ' ')), 'A')
           || setweight(to_tsvector('midi.names', 'Maker ' || (i % 200)), 'B')
  FROM generate_series(1, 100000) AS i
 CROSS JOIN LATERAL (
       SELECT (ARRAY['Dark', 'Warm', 'Deep', 'Bright', 'Soft'])[1 + i % 5] || '_'
              || (ARRAY['Bass', 'Lead', 'Pad'])[1 + i % 3] || '_'
              || CASE WHEN i % 20000 = 0 THEN 'Zyxwort_' ELSE '' END
              || 'Take' || (i % 97) || '.mid' AS name) n;
SET LOCAL default_statistics_target = 400;  -- a 120,000-row sample: every row, so the statistics (and plans) repeat
SET LOCAL default_statistics_target = 1000;  -- samples all 100,000 rows: the same statistics every run
ANALYZE midi.files;

CREATE FUNCTION pg_temp.plan(args text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE 'SELECT string_agg(l, E''\n'') FROM midi.explain_search(' || args || ') AS l' INTO r;
    RETURN r;
END $$;

SELECT ok(pg_temp.plan($$q => 'bass'$$) ~ 'Index Scan using idx_files_newest'
          AND pg_temp.plan($$q => 'bass'$$) !~ 'idx_files_search',
          'broad word: newest-first index, filtered, no GIN bitmap of a third of the table');
SELECT ok(pg_temp.plan($$q => 'bass'$$) !~ '\mSort\M', 'broad word: no sort of the matches');
SELECT ok(pg_temp.plan($$q => 'zyxwort'$$) ~ 'Bitmap Index Scan on idx_files_search', 'rare word: GIN index');
SELECT ok(pg_temp.plan($$q => 'maker'$$) ~ 'idx_files_name_words' AND pg_temp.plan($$q => 'maker'$$) !~ 'Seq Scan on files',
          'a word in every manufacturer but no file name: the name tier is found empty by its index, not by reading the table');
SELECT ok(pg_temp.plan($$q => 'zyxwort'$$) ~ '-- ranked', 'rare word: its few matches ranked in one query');
SELECT ok(pg_temp.plan($$keys => '{Am}', bpm_min => 100, bpm_max => 110$$) ~ 'idx_files_key_newest',
          'one key + tempo, newest first: key/newest index with the tempo tested inside it');
SELECT ok(pg_temp.plan($$q => 'bass', keys => '{Am}', bpm_min => 100, bpm_max => 110$$) ~ 'idx_files_key_(newest|bpm)'
          AND pg_temp.plan($$q => 'bass', keys => '{Am}', bpm_min => 100, bpm_max => 110$$) !~ 'idx_files_search',
          'broad word + key + tempo: a key index, the word as a filter');
SELECT ok(pg_temp.plan($$keys => '{Am,C,Em}', bpm_min => 100, bpm_max => 102$$) ~ 'idx_files_key_bpm'
          AND pg_temp.plan($$keys => '{Am,C,Em}', bpm_min => 100, bpm_max => 102$$) !~ 'Seq Scan on files',
          'several keys + tempo: key/bpm composite');
SELECT ok(pg_temp.plan($$bpm_min => 100, bpm_max => 101, sort => 'bpm'$$) ~ 'idx_files_bpm', 'tempo range by tempo: bpm index');
SELECT ok(pg_temp.plan($$manufacturer => '{Maker 7}'$$) ~ 'idx_files_manufacturer_newest', 'one manufacturer, newest first');
SELECT ok(pg_temp.plan($$tags_all => '{rare}'$$) ~ 'idx_files_tag_ids', 'a rare tag: tag ids GIN index');
SELECT ok(pg_temp.plan($$q => 'Zyxwrot', fuzzy => true$$) ~ 'idx_files_filename_trgm', 'fuzzy: trigram index');
SELECT ok(pg_temp.plan($$sort => 'name'$$) ~ 'Index Scan using idx_files_name', 'sort by name: name index');
SELECT ok(pg_temp.plan(format('q => %L, after => %L', 'bass',
                              (SELECT cursor FROM midi.search(q => 'bass', lim => 50) OFFSET 49)))
          ~ 'Index Cond: \(\(created_at <=', 'page 2 starts inside the newest-first index (keyset, no OFFSET)');
CREATE FUNCTION pg_temp.explain(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN ' || q LOOP r := concat_ws(E'\n', r, l); END LOOP;
    RETURN r;
END $$;
SELECT ok(pg_temp.explain('SELECT * FROM midi.load_tracks(ARRAY[5, 99, 1234])') ~ 'files_pkey', 'load_tracks: primary key lookups');
SELECT * FROM finish();
ROLLBACK;
