-- Search speed: the word statistics a search reads to choose its strategy (instead of asking the planner
-- with an EXPLAIN per call), and indexes that serve every sort order under the key and tempo filters.
-- depends: 0011_create_track_splits

-- How many files hold each search word, estimated from a sample of the search documents (every document
-- when the library is small): midi._search_words_refresh (db/functions/39_search_words.sql) fills it at
-- the end of an import or analysis (midi.refresh_views) when the library changed by more than a tenth
-- since the last sample. A search looks its words up here to tell a rare word (found by the GIN index)
-- from a broad one (a filter on an ordered scan), and a count of a broad word takes its estimate from here.
CREATE TABLE midi.search_words (
    word        text COLLATE "C" PRIMARY KEY,
    files       real NOT NULL CHECK (files >= 0),
    name_files  real NOT NULL CHECK (name_files >= 0 AND name_files <= files)
);
COMMENT ON TABLE midi.search_words IS
    'Estimated files per search word (whole document, and file names alone), from the last sample of the library';
COMMENT ON COLUMN midi.search_words.word IS 'A lexeme of the midi.names configuration (C collation: prefix ranges)';
COMMENT ON COLUMN midi.search_words.files IS 'Estimated files whose search document holds the word';
COMMENT ON COLUMN midi.search_words.name_files IS 'Estimated files whose file name holds the word (weight A)';
COMMENT ON INDEX midi.search_words_pkey IS
    'serves: text, rare word; text, broad word ''bass''; text + BPM + key; count, broad word -- the strategy of a text query looks up its words (and prefixes) here';

-- The resolved filters carry the file-name estimate too (the first relevance tier's share of the matches).
ALTER TYPE midi._search_args ADD ATTRIBUTE name_rows double precision;

-- The sample midi.search_words was taken from: its size, the library it was taken of, and when.
CREATE TABLE midi.search_word_sample (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    files         bigint NOT NULL CHECK (files >= 0),
    analyzed      bigint NOT NULL CHECK (analyzed >= 0),
    sampled       bigint NOT NULL CHECK (sampled >= 0),
    taken_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE midi.search_word_sample IS
    'The sample behind midi.search_words: files and analyzed files in the library then, documents read, when';
COMMENT ON INDEX midi.search_word_sample_pkey IS
    'serves: text, rare word; text, broad word ''bass''; count, broad word -- one row: the scale of the word estimates';

-- Every sort order under a key filter reads one key's files in that order, the tempo tested inside the
-- index (a trailing key column, as in idx_files_key_newest), so a page of key + BPM matches costs a few
-- hundred index entries and one heap visit per candidate of the other filters, however the key's files
-- spread over the table. (The key + newest order is idx_files_key_newest.)
DROP INDEX midi.idx_files_key_bpm;
CREATE INDEX idx_files_key_bpm ON midi.files (cached_key, cached_bpm, id)
    INCLUDE (cached_category, manufacturer, collection_name, tag_ids);
COMMENT ON INDEX midi.idx_files_key_bpm IS
    'serves: filters: BPM + key + manufacturer; count, BPM + key; facets, BPM + key; midi.search sort=bpm with keys -- key equality and a tempo range in (bpm, id) order; covers the facet columns';
CREATE INDEX idx_files_key_duration ON midi.files (cached_key, duration_seconds, id, cached_bpm);
COMMENT ON INDEX midi.idx_files_key_duration IS
    'serves: midi.search sort=duration with keys -- one key''s files in (duration, id) order, the tempo tested in the index';
-- sort => 'duration' with no key: (duration, id) order, files of unknown duration (NULL) last by id
CREATE INDEX idx_files_duration_id ON midi.files (duration_seconds, id);
COMMENT ON INDEX midi.idx_files_duration_id IS
    'serves: midi.search sort=duration -- (duration, id) order, and the files of unknown duration by id';
