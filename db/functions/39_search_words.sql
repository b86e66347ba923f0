-- The word statistics of the search strategy: how many files hold a word, kept in midi.search_words
-- (migration 0012) from a sample of the library, so that choosing how to run a text query costs a few
-- index probes instead of an EXPLAIN (which plans a query over a table of twenty indexes, per call).

/* _search_words_refresh: re-samples midi.search_words when the library has changed by more than a tenth
   (files, or analyzed files, whose tag, category and instrument words join the documents) since the last
   sample, when it was never sampled, or when force is true. Up to 10,000 search documents are read (a page
   sample of a large library, every document of a small one, whose counts are then exact); per word, the
   documents holding it and those holding it in the file name (weight A), scaled to the library. Returns
   whether it sampled. Called by midi.refresh_views (which has just refreshed midi.library_stats). */
CREATE OR REPLACE FUNCTION midi._search_words_refresh(force boolean DEFAULT false) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    an bigint;
    s midi.search_word_sample;
    pct double precision;
    got bigint;
BEGIN
    SELECT l.files, l.analyzed INTO n, an FROM midi.library_stats l;
    n := coalesce(n, 0);
    an := coalesce(an, 0);
    SELECT * INTO s FROM midi.search_word_sample;
    IF NOT force AND s.singleton IS NOT NULL
       AND abs(n - s.files) <= 0.1 * greatest(s.files, 1000)
       AND abs(an - s.analyzed) <= 0.1 * greatest(s.files, 1000) THEN
        RETURN false;
    END IF;
    pct := least(100, 100.0 * 10000 / greatest(n, 1));
    -- documents read: the sample's rows (REPEATABLE: the same pages as below; a document without words counts)
    SELECT count(*) INTO got FROM midi.files f TABLESAMPLE SYSTEM (pct) REPEATABLE (0);
    DELETE FROM midi.search_words;  -- not TRUNCATE: searches keep reading the old rows until commit
    INSERT INTO midi.search_words (word, files, name_files)
    SELECT w.lexeme, count(*)::real * n / greatest(got, 1),
           count(*) FILTER (WHERE 'A' = ANY (w.weights))::real * n / greatest(got, 1)
      FROM (SELECT f.search_vector FROM midi.files f TABLESAMPLE SYSTEM (pct) REPEATABLE (0)) d
     CROSS JOIN LATERAL unnest(d.search_vector) AS w
     GROUP BY w.lexeme;
    INSERT INTO midi.search_word_sample (singleton, files, analyzed, sampled, taken_at)
    VALUES (true, n, an, got, now())
    ON CONFLICT (singleton) DO UPDATE
       SET files = excluded.files, analyzed = excluded.analyzed, sampled = excluded.sampled, taken_at = excluded.taken_at;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION midi._search_words_refresh(boolean) IS
    'Internal: re-samples midi.search_words when the library changed by more than a tenth (or force); true when it sampled';

/* _text_rows: estimated files matching a tsquery, over whole search documents and over file names alone
   (the first relevance tier), from midi.search_words: a word's count, a prefix's the sum of its words'
   (at most the library), a word the sample never met fewer than one sampled document's worth; "and" and
   phrases multiply, "or" adds, "not" takes the rest, as the planner combines them. NULL when the library
   was never sampled (then the caller asks the planner). A few index probes, no planning. */
CREATE OR REPLACE FUNCTION midi._text_rows(tsq tsquery, OUT files double precision, OUT name_files double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s midi.search_word_sample;
    n double precision;
    unseen double precision;
    tok text[];
    ops text[] := '{}';      -- operator stack (shunting-yard)
    rpn text[] := '{}';      -- the query in postfix: 'w<lexeme>', 'p<prefix>', '&', '|', '!'
    op text;
    prec integer;
    x text;
    d double precision[] := '{}';   -- value stacks: selectivity over documents and over names
    m double precision[] := '{}';
    a1 double precision; a2 double precision; b1 double precision; b2 double precision;
    lex text;
BEGIN
    SELECT * INTO s FROM midi.search_word_sample;
    IF s.singleton IS NULL OR tsq IS NULL THEN
        RETURN;
    END IF;
    n := greatest(s.files, 1);
    unseen := CASE WHEN s.sampled >= s.files THEN 0 ELSE n / greatest(s.sampled, 1) END;
    IF tsq::text !~ '[|!()]' THEN
        -- words joined by "and" or phrases only (the common case): the product, in one statement
        -- (each factor at least 1e-12, the product at least 1e-300: no underflow for a thousand words)
        SELECT n * exp(greatest(sum(ln(greatest(least(1, (coalesce(c.files, 0) + unseen) / n), 1e-12))), -690)),
               n * exp(greatest(sum(ln(greatest(least(1, (coalesce(c.name_files, 0) + unseen) / n), 1e-12))), -690))
          INTO files, name_files
          FROM (SELECT replace(r.m[1], '''''', '''') AS lex, coalesce(r.m[2], '') LIKE '%*%' AS prefix
                  FROM regexp_matches(tsq::text, $re$'((?:[^']|'')*)'(?::([*A-D]+))?$re$, 'g') AS r(m)) t
         CROSS JOIN LATERAL (
               SELECT sum(w.files) AS files, sum(w.name_files) AS name_files FROM midi.search_words w
                WHERE w.word >= t.lex AND w.word <= CASE WHEN t.prefix THEN t.lex || chr(1114111) ELSE t.lex END) c;
        RETURN;
    END IF;
    FOR tok IN SELECT regexp_matches(tsq::text, $re$'((?:[^']|'')*)'(?::([*A-D]+))?|(<(?:-|\d+)>|[&|!()])$re$, 'g') LOOP
        IF tok[1] IS NOT NULL THEN
            rpn := rpn || ((CASE WHEN strpos(coalesce(tok[2], ''), '*') > 0 THEN 'p' ELSE 'w' END) || replace(tok[1], '''''', ''''));
            CONTINUE;
        END IF;
        op := CASE WHEN tok[3] LIKE '<%' THEN '&' ELSE tok[3] END;  -- a phrase counts as "and"
        IF op = '(' OR op = '!' THEN
            ops := ops || op;
        ELSIF op = ')' THEN
            WHILE cardinality(ops) > 0 AND ops[cardinality(ops)] <> '(' LOOP
                rpn := rpn || ops[cardinality(ops)];
                ops := trim_array(ops, 1);
            END LOOP;
            ops := trim_array(ops, least(1, cardinality(ops)));
        ELSE
            prec := CASE op WHEN '&' THEN 2 ELSE 1 END;
            WHILE cardinality(ops) > 0 AND ops[cardinality(ops)] <> '('
                  AND CASE ops[cardinality(ops)] WHEN '!' THEN 3 WHEN '&' THEN 2 ELSE 1 END >= prec LOOP
                rpn := rpn || ops[cardinality(ops)];
                ops := trim_array(ops, 1);
            END LOOP;
            ops := ops || op;
        END IF;
    END LOOP;
    WHILE cardinality(ops) > 0 LOOP
        IF ops[cardinality(ops)] <> '(' THEN
            rpn := rpn || ops[cardinality(ops)];
        END IF;
        ops := trim_array(ops, 1);
    END LOOP;
    FOREACH x IN ARRAY rpn LOOP
        CASE left(x, 1)
            WHEN 'w', 'p' THEN
                lex := substr(x, 2);
                IF left(x, 1) = 'w' THEN
                    SELECT w.files, w.name_files INTO a1, b1 FROM midi.search_words w WHERE w.word = lex;
                ELSE
                    SELECT sum(w.files), sum(w.name_files) INTO a1, b1 FROM midi.search_words w
                     WHERE w.word >= lex AND w.word < lex || chr(1114111);
                END IF;
                d := d || least(1, (coalesce(a1, 0) + unseen) / n);
                m := m || least(1, (coalesce(b1, 0) + unseen) / n);
            WHEN '!' THEN
                d[cardinality(d)] := 1 - d[cardinality(d)];
                m[cardinality(m)] := 1 - m[cardinality(m)];
            ELSE
                a2 := d[cardinality(d)]; b2 := m[cardinality(m)];
                d := trim_array(d, 1); m := trim_array(m, 1);
                a1 := d[cardinality(d)]; b1 := m[cardinality(m)];
                -- every product of two operands at least 1e-150 each: never below 1e-300, no underflow
                -- (an "or" of two vanishing operands multiplies them too)
                a1 := greatest(a1, 1e-150); a2 := greatest(a2, 1e-150);
                b1 := greatest(b1, 1e-150); b2 := greatest(b2, 1e-150);
                IF x = '&' THEN
                    d[cardinality(d)] := a1 * a2;
                    m[cardinality(m)] := b1 * b2;
                ELSE
                    d[cardinality(d)] := a1 + a2 - a1 * a2;
                    m[cardinality(m)] := b1 + b2 - b1 * b2;
                END IF;
        END CASE;
    END LOOP;
    files := n * d[1];
    name_files := n * m[1];
END;
$$;
COMMENT ON FUNCTION midi._text_rows(tsquery) IS
    'Internal: estimated files matching a tsquery (whole documents, file names) from midi.search_words; NULL if never sampled';
