-- Rollback of 0010_define_name_tsvector_by_name_words: name_tsvector gets 0006's own copy of the
-- expressions back (the same results, so idx_files_name_words stays valid), and name_words goes: before
-- 0010 it belonged to the repeatable layer, which a rollback drops first.
CREATE OR REPLACE FUNCTION midi.name_tsvector(filename text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT to_tsvector('midi.names', btrim(regexp_replace(
               regexp_replace(regexp_replace(regexp_replace(filename, '\.(mid|midi|kar|rmi|smf)$', '', 'i'),
                                             '([a-z]{2})([A-Z])', '\1 \2', 'g'),
                              '([A-Z])([A-Z][a-z])', '\1 \2', 'g'),
               '[\s_.\-]+', ' ', 'g')))
$$;
COMMENT ON FUNCTION midi.name_tsvector(text) IS
    'Words of a file name (as the weight-A part of search_vector, unweighted); indexed by idx_files_name_words';
DROP FUNCTION midi.name_words(text);
