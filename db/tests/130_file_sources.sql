-- file_sources: where a file's bytes can be read, in the order to try them (canonical, then present
-- paths, then missing ones), with the exact bytes of a name that is not UTF-8 and the hash to check.
BEGIN;
SELECT plan(6);
\ir fixtures/search_library.sql
INSERT INTO midi.file_paths (path, path_bytes, file_id, missing_since) VALUES
    ('/aaa/gone.mid', NULL, 1, now()),
    ('/backup/Deep_House_Bass_124bpm_Am.mid', NULL, 1, NULL),
    (E'/odd/caf\uFFFD.mid', '\x2f6f64642f636166e92e6d6964'::bytea, 1, NULL);

SELECT is(ARRAY(SELECT path FROM midi.file_sources(1)),
          ARRAY['/lib/Loopforge/Deep_House_Bass_124bpm_Am.mid', '/backup/Deep_House_Bass_124bpm_Am.mid',
                E'/odd/caf\uFFFD.mid', '/aaa/gone.mid'],
          'canonical path first, then the present paths by path, the missing one last');
SELECT is(ARRAY(SELECT is_canonical FROM midi.file_sources(1)), ARRAY[true, false, false, false],
          'only the canonical path is flagged');
SELECT is((SELECT path_bytes FROM midi.file_sources(1) WHERE path LIKE '/odd/%'), '\x2f6f64642f636166e92e6d6964'::bytea,
          'a name that is not UTF-8 comes with its exact bytes');
SELECT is((SELECT count(DISTINCT content_hash)::integer FROM midi.file_sources(1)), 1, 'one content, one hash');
SELECT is((SELECT content_hash FROM midi.file_sources(1) LIMIT 1),
          (SELECT encode(content_hash, 'hex') FROM midi.files WHERE id = 1), 'the hash is the content''s, in hex');
SELECT is((SELECT count(*)::integer FROM midi.file_sources(999)), 0, 'an unknown id: no rows');
SELECT * FROM finish();
ROLLBACK;
