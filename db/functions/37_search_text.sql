-- Text queries of the search engine: a search box text made a tsquery (clipped to what the API accepts,
-- web-search syntax through the midi.names configuration, the last word a prefix), that tsquery
-- restricted to the file-name words (weight A) for the first relevance tier, and the test of the second
-- tier (the text matches outside the file name). Used by midi._search_args and midi._search_sql
-- (40_search_engine.sql); they depend on nothing in the other function files.

/* _clip_query: a search text cut to what the API accepts, 256 characters: a longer text is cut at the
   last word boundary (white space) inside the limit, or at the limit when its first word is longer.
   Search box text never needs more; a megabyte of words would otherwise become a tsquery deep enough to
   exhaust the server's stack (an error), or a fuzzy match comparing a megabyte with every file name. */
CREATE OR REPLACE FUNCTION midi._clip_query(q text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN length(q) <= 256 THEN q
                ELSE coalesce(substring(left(q, 257) FROM '^(.*\S)\s'), left(q, 256)) END
$$;
COMMENT ON FUNCTION midi._clip_query(text) IS
    'Internal: a search text cut to at most 256 characters, at a word boundary where there is one';

/* parse_query: the tsquery of a search box text: web-search syntax ("quoted phrase", -not, or) through
   the midi.names configuration, never an error on odd input, and the last word matched as a prefix while
   it is being typed ("deep ba" finds "deep bass"). NULL when the text holds nothing searchable. A text
   longer than the API accepts is cut first (_clip_query). */
CREATE OR REPLACE FUNCTION midi.parse_query(q text) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    tsq tsquery;
BEGIN
    q := midi._clip_query(q);
    IF q IS NULL OR q !~ '[[:alnum:]]' THEN
        RETURN NULL;
    END IF;
    tsq := websearch_to_tsquery('midi.names', q);
    IF numnode(tsq) = 0 THEN
        RETURN NULL;
    END IF;
    -- prefix only for a bare last word: not a negated word, not the end of a closed phrase, not "or"
    IF q ~ '[[:alnum:]]$' AND q !~ '(^|\s)-[^\s]*$' AND q !~* '(^|\s)or$'
       AND (length(q) - length(replace(q, '"', ''))) % 2 = 0 THEN
        tsq := regexp_replace(tsq::text, $re$'((?:[^']|'')*)'(\s*\)*)$$re$, $r$'\1':*\2$r$)::tsquery;
    END IF;
    RETURN tsq;
END;
$fn$;
COMMENT ON FUNCTION midi.parse_query(text) IS
    'Search box text to tsquery: websearch syntax, midi.names words, prefix match on the last word; NULL if empty';

/* _tsquery_in: the same query with every word restricted to the given weights ('A': the file name), for
   the first relevance tier: all words in the file name. */
CREATE OR REPLACE FUNCTION midi._tsquery_in(tsq tsquery, weights text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT regexp_replace(tsq::text, $re$('(?:[^']|'')*')(?::(\*))?$re$, '\1:\2' || weights, 'g')::tsquery
$$;
COMMENT ON FUNCTION midi._tsquery_in(tsquery, text) IS 'Internal: a tsquery with every lexeme restricted to the given weights';

/* _outside_name: whether a search document misses the query in the file name (at weight A): the second
   relevance tier, the text matches outside the first. A function, so the planner gives it a neutral
   estimate: written as "(search_vector @@ q_a) IS NOT TRUE" it would be estimated from the unweighted word
   statistics and multiplied with the text test it is part of (a word in every document would leave no
   row outside the names), and the tier would be planned as a full scan and a sort. COST 1: it is cheap,
   so it is tested first. (The first tier is written inline: "(search_vector @@ q_a) IS TRUE", estimated
   as the word's frequency, is what the planner should think of it, and saves a function call per row.) */
CREATE OR REPLACE FUNCTION midi._outside_name(search_vector tsvector, tsq_a tsquery) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT COST 1 AS $$
BEGIN
    RETURN NOT search_vector @@ tsq_a;
END;
$$;
COMMENT ON FUNCTION midi._outside_name(tsvector, tsquery) IS
    'Internal: whether a search document misses the query in the file name (second relevance tier)';
