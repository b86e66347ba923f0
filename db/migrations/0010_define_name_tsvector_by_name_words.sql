-- midi.name_tsvector (0006; idx_files_name_words is built on it) defined through midi.name_words, the one
-- home of the file-name word rule, instead of a copy of its regular expressions. name_words moves here from
-- db/functions/10_util.sql: an index now depends on it (through name_tsvector, whose SQL-standard body
-- records that dependency), so it may change only with a migration that rebuilds idx_files_name_words.
-- The results are the same as 0006's copy for every name (tests/test_name_words.py compares the two), so
-- the index stays valid and is not rebuilt.
-- depends: 0009_add_analysis_retries

/* name_words: the words of a file or folder name, for search. Strips a file extension, splits camelCase
   humps after two lower-case letters ("DeepHouse" -> Deep House; "DnB", "LoFi" stay whole) and before
   the last capital of an acronym ("HTMLParser" -> HTML Parser), and turns "_ - ." into spaces, so
   'DeepHouse_Bass_124bpm.mid' yields 'Deep House Bass 124bpm'. Three regular expressions and no
   set-returning step: import computes it for every new file. */
CREATE OR REPLACE FUNCTION midi.name_words(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT btrim(regexp_replace(
               regexp_replace(regexp_replace(regexp_replace(name, '\.(mid|midi|kar|rmi|smf)$', '', 'i'),
                                             '([a-z]{2})([A-Z])', '\1 \2', 'g'),
                              '([A-Z])([A-Z][a-z])', '\1 \2', 'g'),
               '[\s_.\-]+', ' ', 'g'))
$$;
COMMENT ON FUNCTION midi.name_words(text) IS
    'Search words of a file or folder name: extension stripped, split on _ - . and camelCase humps';

/* name_tsvector: the words of a file name as a tsvector: the weight-A part of files.search_vector
   (midi.name_vector, 10_util.sql), without weights. Indexed by idx_files_name_words. */
CREATE OR REPLACE FUNCTION midi.name_tsvector(filename text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN to_tsvector('midi.names', midi.name_words(filename));
COMMENT ON FUNCTION midi.name_tsvector(text) IS
    'Words of a file name (midi.name_words, as the weight-A part of search_vector, unweighted); indexed by idx_files_name_words';
