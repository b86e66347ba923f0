-- Every index of schema midi says what it serves: its comment is "serves: <entry>; <entry> -- why", each
-- entry a canonical call (runner/canonical.py), a seed query, an API call with its shape ("midi.search
-- sort=name"), or a constraint it backs ("foreign key t.c", "primary key t", "unique t.c"). The constraint
-- entries are checked here against the catalog; tests/test_index_purpose.py runs every call entry on a
-- library big enough for the planner to choose and proves the call reads the index. Indexes a bulk load
-- may drop ("[deferrable]" at the end) back no constraint.
BEGIN;
SELECT plan(9);

CREATE TEMP VIEW idx AS
SELECT c.relname::text AS name, t.relname::text AS tbl, i.indisunique AS is_unique, i.indisprimary AS is_primary,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) AS backs_constraint,
       (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols,
       obj_description(c.oid, 'pg_class') AS comment
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
 WHERE c.relnamespace = 'midi'::regnamespace;
CREATE TEMP VIEW entry AS
SELECT x.name, x.tbl, x.is_unique, x.is_primary, x.backs_constraint, x.cols, btrim(e) AS entry
  FROM idx x CROSS JOIN LATERAL regexp_split_to_table(substring(x.comment FROM '^serves: (.*?) -- '), ';') AS e;

SELECT is(ARRAY(SELECT name FROM idx WHERE comment IS NULL OR comment !~ '^serves: \S.*? -- \S' ORDER BY 1), '{}'::text[],
          'every index comment is "serves: <entry>; ... -- why"');
SELECT is(ARRAY(SELECT name || ': "' || entry || '"' FROM entry WHERE entry = '' ORDER BY 1), '{}'::text[],
          'no empty entry');
SELECT cmp_ok((SELECT count(*)::int FROM idx), '>=', 40, 'the check sees the indexes of schema midi');

-- "foreign key t.c": the index is on t, leads with c, and t.c references another table
SELECT is(ARRAY(SELECT e.name || ': ' || e.entry FROM entry e
                 WHERE e.entry ~ '^foreign key '
                   AND NOT (e.tbl = split_part(substring(e.entry FROM '^foreign key (\S+)$'), '.', 1)
                            AND e.cols[1] = split_part(substring(e.entry FROM '^foreign key (\S+)$'), '.', 2)
                            AND EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid
                                         WHERE k.contype = 'f' AND k.conrelid = ('midi.' || e.tbl)::regclass
                                           AND a.attnum = k.conkey[1] AND cardinality(k.conkey) = 1
                                           AND a.attname = e.cols[1]))
                 ORDER BY 1), '{}'::text[],
          'each "foreign key t.c" entry: the index leads with t.c, which references another table');
SELECT is(ARRAY(SELECT e.name || ': ' || e.entry FROM entry e
                 WHERE e.entry ~ '^primary key ' AND NOT (e.is_primary AND e.tbl = substring(e.entry FROM '^primary key (\S+)$'))
                 ORDER BY 1), '{}'::text[], 'each "primary key t" entry is the primary key of t');
SELECT is(ARRAY(SELECT e.name || ': ' || e.entry FROM entry e
                 WHERE e.entry ~ '^unique ' AND NOT (e.is_unique AND e.backs_constraint
                       AND e.tbl || '.' || array_to_string(e.cols, ',') = substring(e.entry FROM '^unique (\S+)$'))
                 ORDER BY 1), '{}'::text[], 'each "unique t.c" entry is a unique constraint on exactly t.c');

SELECT is(ARRAY(SELECT name FROM idx WHERE comment ~ '\[deferrable\]\s*$' AND (is_unique OR backs_constraint) ORDER BY 1),
          '{}'::text[], 'no unique or constraint index is deferrable');
SELECT is(ARRAY(SELECT name FROM midi.deferrable_indexes()),
          ARRAY(SELECT name FROM idx WHERE comment ~ '\[deferrable\]\s*$' ORDER BY 1),
          'midi.deferrable_indexes() lists exactly the indexes marked [deferrable]');
SELECT is(ARRAY(SELECT name FROM midi.deferrable_indexes()),
          ARRAY['idx_files_bpm', 'idx_files_collection', 'idx_files_duration_id', 'idx_files_filename_trgm', 'idx_files_key_bpm',
                'idx_files_key_duration', 'idx_files_key_newest', 'idx_files_manufacturer_newest', 'idx_files_name', 'idx_files_name_words',
                'idx_files_newest', 'idx_files_search', 'idx_files_tag_ids'],
          'the search-only indexes of files are deferrable, and nothing else is');

SELECT * FROM finish();
ROLLBACK;
