-- Roles: midi_reader may call the read API and nothing that writes; midi_writer may also write.
-- SECURITY DEFINER is used once (refresh_views) and pins its search_path.
BEGIN;
SELECT plan(18);
\ir fixtures/search_library.sql
SELECT midi.refresh_views();

SET LOCAL ROLE midi_reader;
SELECT is((SELECT count(*)::integer FROM midi.search(q => 'bass')), 5, 'reader: search');
SELECT is((SELECT files FROM midi.search_count(q => 'bass')), 5::bigint, 'reader: search_count');
SELECT ok((SELECT count(*) > 0 FROM midi.facets(keys => '{Am}')), 'reader: facets');
SELECT ok((SELECT count(*) > 0 FROM midi.facets()), 'reader: unfiltered facets (the views)');
SELECT ok((SELECT count(*) > 0 FROM midi.file_details(1)) AND (SELECT count(*) > 0 FROM midi.load_tracks(ARRAY[1, 2])),
          'reader: details and track loading');
SELECT ok((SELECT count(*) > 0 FROM midi.explain_search(q => 'bass')), 'reader: explain_search');
SELECT is(midi.compatible_keys('C'), ARRAY['C', 'Am', 'G', 'F']::midi.musical_key[], 'reader: key helpers');
SELECT throws_ok($$SELECT midi.favorite_add(1)$$, '42501', NULL, 'reader cannot add a favorite');
SELECT throws_ok($$SELECT midi.rate(1, 3)$$, '42501', NULL, 'reader cannot rate');
SELECT throws_ok($$SELECT midi.tag(1, 'x')$$, '42501', NULL, 'reader cannot tag');
SELECT throws_ok($$SELECT midi.saved_search_save('x', '{}')$$, '42501', NULL, 'reader cannot save a search');
SELECT throws_ok($$SELECT midi.refresh_views()$$, '42501', NULL, 'reader cannot refresh the views');
SELECT throws_ok($$INSERT INTO midi.favorites (file_id) VALUES (1)$$, '42501', NULL, 'reader cannot write tables directly');
RESET ROLE;

SET LOCAL ROLE midi_writer;
SELECT is(midi.favorite_toggle(1), true, 'writer: favorites');
SELECT is(midi.tag(1, 'writer tag'), 1, 'writer: tags (the sync triggers run with its rights)');
SELECT is(midi.refresh_views(), 7, 'writer: refresh_views');
RESET ROLE;

SELECT is(ARRAY(SELECT p.proname::text FROM pg_proc p WHERE p.pronamespace = 'midi'::regnamespace AND p.prosecdef
                 AND p.proname IN ('refresh_views', 'search', 'facets', 'search_count', 'favorite_add', 'tag', 'rate',
                                   'saved_search_save', 'sync_files')),
          ARRAY['refresh_views'], 'only refresh_views is SECURITY DEFINER');
SELECT ok((SELECT proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc WHERE oid = 'midi.refresh_views()'::regprocedure),
          'and it pins search_path');
SELECT * FROM finish();
ROLLBACK;
