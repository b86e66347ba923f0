-- midi.search_strategy tells the truth about the engine: for each search shape, on 100,000 generated files
-- (the library of 113_explain_indexes.sql, ANALYZEd), every index of files that the plans of
-- midi.explain_search read belongs to the same segment's strategy rows, and a segment read without an
-- index has a strategy that names none (NULL). The plans are PostgreSQL's own choices (cost-based,
-- enable_seqscan on), so when the engine changes how it chooses its queries and this function is not
-- changed with it, this file fails. A few strategies are named outright too.
BEGIN;
SELECT plan(17);

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
SET LOCAL default_statistics_target = 1000;  -- samples all 100,000 rows: the same statistics every run
ANALYZE midi.files;

-- The disagreements between explain_search's plans and search_strategy's rows for one set of arguments:
-- 'segment N reads X' for an index of files a segment read that its strategy does not name, 'segment N
-- reads files whole' for a sequential scan of files in a segment whose strategy names only indexes.
CREATE FUNCTION pg_temp.disagreements(args text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    seg integer := 0;
    line text;
    idx text;
    out text[] := '{}';
    meant text[];
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS strategy_rows (segment integer, strategy text, index_name text);
    TRUNCATE strategy_rows;
    EXECUTE 'INSERT INTO strategy_rows SELECT * FROM midi.search_strategy(' || args || ')';
    FOR line IN EXECUTE 'SELECT * FROM midi.explain_search(' || args || ')' LOOP
        IF line = '-- ranked' THEN
            seg := 1;
            CONTINUE;
        ELSIF line ~ '^-- segment \d+$' THEN
            seg := substring(line FROM '\d+')::integer;
            CONTINUE;
        END IF;
        meant := ARRAY(SELECT s.index_name FROM strategy_rows s WHERE s.segment = seg);
        FOR idx IN SELECT m[1] FROM regexp_matches(line, '(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)', 'g') AS m LOOP
            IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                        WHERE c.relname = idx AND i.indrelid = 'midi.files'::regclass)
               AND NOT coalesce(idx = ANY (meant), false) THEN
                out := out || format('segment %s reads %s (meant: %s)', seg, idx, meant);
            END IF;
        END LOOP;
        IF line ~ 'Seq Scan on files' AND NOT EXISTS (SELECT 1 FROM strategy_rows s WHERE s.segment = seg AND s.index_name IS NULL) THEN
            out := out || format('segment %s reads files whole (meant: %s)', seg, meant);
        END IF;
    END LOOP;
    RETURN out;
END $$;

CREATE FUNCTION pg_temp.strategy(args text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE 'SELECT string_agg(segment || '' '' || strategy || '': '' || coalesce(index_name, ''table''), E''\n''
                                ORDER BY segment, index_name) FROM midi.search_strategy(' || args || ')' INTO r;
    RETURN r;
END $$;

SELECT is(pg_temp.disagreements($$q => 'bass'$$), '{}', 'broad word: the plans read what the strategy names');
SELECT ok(pg_temp.strategy($$q => 'bass'$$) ~ '1 name tier: idx_files_newest' AND pg_temp.strategy($$q => 'bass'$$) !~ 'idx_files_search',
          'broad word: the newest-first index, not the text index, by design');
SELECT ok(pg_temp.strategy($$q => 'bass'$$) ~ '0 filter: table', 'a broad word alone names no index for a count');
SELECT is(pg_temp.disagreements($$q => 'zyxwort'$$), '{}', 'rare word');
SELECT is(pg_temp.strategy($$q => 'zyxwort'$$), E'0 filter: idx_files_search\n1 ranked: idx_files_search',
          'rare word: ranked through the text index');
SELECT is(pg_temp.disagreements($$q => 'maker'$$), '{}', 'a word of every manufacturer, no file name');
SELECT ok(pg_temp.strategy($$q => 'maker'$$) ~ '1 name tier: idx_files_name_words', 'its name tier is looked up by the name-word index');
SELECT is(pg_temp.disagreements($$keys => '{Am}', bpm_min => 100, bpm_max => 110$$), '{}', 'one key + tempo');
SELECT is(pg_temp.disagreements($$q => 'bass', keys => '{Am}', bpm_min => 100, bpm_max => 110$$), '{}', 'broad word + key + tempo');
SELECT is(pg_temp.disagreements($$keys => '{Am,C,Em}', bpm_min => 100, bpm_max => 102$$), '{}', 'several keys + tempo');
SELECT is(pg_temp.disagreements($$bpm_min => 100, bpm_max => 101, sort => 'bpm'$$), '{}', 'tempo range by tempo');
SELECT is(pg_temp.disagreements($$manufacturer => '{Maker 7}'$$), '{}', 'one manufacturer, newest first');
SELECT is(pg_temp.disagreements($$tags_all => '{rare}'$$), '{}', 'a rare tag');
SELECT is(pg_temp.disagreements($$q => 'Zyxwrot', fuzzy => true$$), '{}', 'fuzzy');
SELECT is(pg_temp.disagreements($$sort => 'name'$$), '{}', 'sort by name');
SELECT is(pg_temp.disagreements(format('q => %L, after => %L', 'bass',
                                       (SELECT cursor FROM midi.search(q => 'bass', lim => 50) OFFSET 49))), '{}',
          'page 2 of a broad word (keyset)');
SELECT throws_ok($$SELECT * FROM midi.search_strategy(sort => 'loudness')$$, '22023', NULL,
                 'the same arguments, and the same errors, as midi.search');
SELECT * FROM finish();
ROLLBACK;
