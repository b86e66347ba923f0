-- Search objects: pg_trgm, search indexes, tag ids on files, ratings, saved searches, facet views.
-- depends: 0005_create_import_staging

-- pg_trgm ships with PostgreSQL. It goes into schema midi unless the database already has it elsewhere
-- (then that copy is used; 40_search.sql looks the schema up). Rollback drops it only from schema midi.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE EXTENSION pg_trgm WITH SCHEMA midi;
    END IF;
END
$$;

-- The ids of a file's tags, kept by the file_tags triggers (45_sync.sql): tag filters become an array
-- test on the files row (GIN-indexed, and cheap as a filter on an ordered scan) instead of a join.
ALTER TABLE midi.files ADD COLUMN tag_ids bigint[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN midi.files.tag_ids IS 'Ids of the file''s tags (denormalized from file_tags by trigger)';
COMMENT ON COLUMN midi.files.cached_bpm IS 'musical_metadata.bpm, else filename_bpm (kept by trigger)';
COMMENT ON COLUMN midi.files.cached_key IS 'musical_metadata.key_signature unless UNKNOWN, else filename_key (kept by trigger)';
COMMENT ON COLUMN midi.files.cached_category IS 'file_categories.primary_category (kept by trigger)';

-- Search indexes; each one serves a shape that midi.search, midi.search_count or midi.facets runs.
-- Newest first (also the order inside a relevance tier), with id as keyset tie-breaker: one import
-- stamps thousands of rows with the same created_at, so created_at alone cannot page.
CREATE INDEX idx_files_newest ON midi.files (created_at DESC, id DESC);
-- One key, newest first, tempo tested inside the index: a key + BPM page reads a few hundred entries.
CREATE INDEX idx_files_key_newest ON midi.files (cached_key, created_at DESC, id DESC, cached_bpm);
-- Key + tempo as a range (the seed's bpm/key composite, equality column first): several keys at once,
-- counts, and the facets of a key + tempo filter counted from the index alone.
CREATE INDEX idx_files_key_bpm ON midi.files (cached_key, cached_bpm)
    INCLUDE (cached_category, manufacturer, collection_name, tag_ids);
-- Tempo ranges (also half/double tempo, one range each), sort => 'bpm', and key/category facets under a
-- tempo filter counted from the index alone.
CREATE INDEX idx_files_bpm ON midi.files (cached_bpm, id) INCLUDE (cached_key, cached_category);
-- Manufacturer listing, newest first (the seed's idx_by_manufacturer_covering, with the keyset id).
CREATE INDEX idx_files_manufacturer_newest ON midi.files (manufacturer, created_at DESC, id DESC);
CREATE INDEX idx_files_tag_ids ON midi.files USING gin (tag_ids);
-- sort => 'name' (the seed's idx_search_results_covering; the keyset id is in the key, not INCLUDE).
CREATE INDEX idx_files_name ON midi.files (filename, id);

/* name_tsvector: the words of a file name as a tsvector: the same words, in the same positions, as the
   weight-A part of files.search_vector (midi.name_words, 10_util.sql), without weights. It lives here, not
   in db/functions, because idx_files_name_words below is built from it: an indexed expression must exist
   when the index is created and must not change without a migration that rebuilds the index. */
CREATE FUNCTION midi.name_tsvector(filename text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT to_tsvector('midi.names', btrim(regexp_replace(
               regexp_replace(regexp_replace(regexp_replace(filename, '\.(mid|midi|kar|rmi|smf)$', '', 'i'),
                                             '([a-z]{2})([A-Z])', '\1 \2', 'g'),
                              '([A-Z])([A-Z][a-z])', '\1 \2', 'g'),
               '[\s_.\-]+', ' ', 'g')))
$$;
COMMENT ON FUNCTION midi.name_tsvector(text) IS
    'Words of a file name (as the weight-A part of search_vector, unweighted); indexed by idx_files_name_words';
-- Relevance puts files whose name holds every query word first. This index finds them for a word that is
-- common in the library but rare in file names (a manufacturer name), and gives the planner statistics
-- of file-name words alone, so it can tell that case from a word common in names.
CREATE INDEX idx_files_name_words ON midi.files USING gin (midi.name_tsvector(filename));

-- Fuzzy file-name matching (midi.search(fuzzy => true)): word similarity on trigrams.
DO $$
DECLARE
    trgm_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                          WHERE e.extname = 'pg_trgm');
BEGIN
    EXECUTE format('CREATE INDEX idx_files_filename_trgm ON midi.files USING gin (filename %I.gin_trgm_ops)',
                   trgm_schema);
END
$$;

CREATE TABLE midi.ratings (
    file_id   bigint PRIMARY KEY REFERENCES midi.files (id) ON DELETE CASCADE,
    rating    smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    rated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE midi.ratings IS 'The user''s 1..5 star rating of a file';

CREATE TABLE midi.saved_searches (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (name = btrim(name) AND name <> ''),
    filters     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filters) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saved_searches_name_key UNIQUE (name)
);
COMMENT ON TABLE midi.saved_searches IS 'Named searches: midi.search arguments as a JSON object, run by name';

-- Every filter of midi.search / search_count / facets, as one value: saved searches store it as JSON
-- (jsonb_populate_record) and the search functions pass it to their dynamic SQL as a single parameter.
CREATE TYPE midi.search_filters AS (
    q               text,
    bpm_min         numeric,
    bpm_max         numeric,
    bpm_halfdouble  boolean,
    keys            midi.musical_key[],
    compatible_key  midi.musical_key,
    manufacturer    text[],
    collection      text[],
    categories      midi.file_category[],
    tags_all        text[],
    tags_any        text[],
    time_signature  text,
    duration_min    numeric,
    duration_max    numeric,
    notes_min       integer,
    notes_max       integer,
    percussive      boolean,
    favorites_only  boolean,
    min_rating      integer,
    fuzzy           boolean
);
COMMENT ON TYPE midi.search_filters IS 'The filter arguments shared by midi.search, midi.search_count and midi.facets';

-- The filters resolved once per call (text queries parsed, tag names turned into ids, keys expanded,
-- keyset cursor decoded, whether the text index pays off): the single parameter of the SQL the search
-- functions build.
CREATE TYPE midi._search_args AS (
    f            midi.search_filters,
    tsq          tsquery,
    tsq_a        tsquery,
    text_indexed boolean,
    text_rows    double precision,
    name_indexed boolean,
    key_set      midi.musical_key[],
    tag_all_ids  bigint[],
    tag_any_ids  bigint[],
    ts_num       smallint,
    ts_den       smallint,
    bpm_ranges   numrange[],
    cur_seg      integer,
    cur_ts       timestamptz,
    cur_num      numeric,
    cur_text     text,
    cur_real     real,
    cur_id       bigint
);
COMMENT ON TYPE midi._search_args IS 'Internal: resolved search filters and keyset cursor (one parameter of the built SQL)';

-- One row of midi.search: the search projection plus the keyset cursor that continues after it.
CREATE TYPE midi.search_hit AS (
    id           bigint,
    filename     text,
    filepath     text,
    manufacturer text,
    collection   text,
    bpm          numeric,
    key          midi.musical_key,
    category     midi.file_category,
    duration     numeric,
    is_favorite  boolean,
    rank         real,
    cursor       text
);
COMMENT ON TYPE midi.search_hit IS 'A search result row; pass the last row''s cursor as after => to get the next page';

-- Library statistics and facet counts of the whole library, refreshed (concurrently, hence the unique
-- indexes) by midi.refresh_views() at the end of import and analysis. midi.facets reads them when no
-- filter is set.
CREATE MATERIALIZED VIEW midi.library_stats AS
SELECT true AS singleton,
       count(*) AS files,
       count(*) FILTER (WHERE f.analyzed_at IS NOT NULL) AS analyzed,
       count(*) FILTER (WHERE f.cached_bpm IS NOT NULL) AS with_bpm,
       count(*) FILTER (WHERE f.cached_key IS NOT NULL AND f.cached_key <> 'UNKNOWN') AS with_key,
       count(DISTINCT f.manufacturer) AS manufacturers,
       count(DISTINCT (f.manufacturer, f.collection_name)) FILTER (WHERE f.collection_name IS NOT NULL) AS collections,
       coalesce(sum(f.file_size_bytes), 0)::bigint AS total_bytes,
       coalesce(sum(f.duration_seconds), 0) AS total_seconds,
       (SELECT count(*) FROM midi.file_paths) AS paths,
       (SELECT count(*) FROM midi.tags) AS tags,
       (SELECT count(*) FROM midi.favorites) AS favorites,
       (SELECT count(*) FROM midi.ratings) AS rated,
       now() AS refreshed_at
  FROM midi.files f;
CREATE UNIQUE INDEX library_stats_key ON midi.library_stats (singleton);

CREATE MATERIALIZED VIEW midi.manufacturer_counts AS
SELECT f.manufacturer, count(*) AS files, count(DISTINCT f.collection_name) AS collections,
       max(f.created_at) AS newest
  FROM midi.files f
 WHERE f.manufacturer IS NOT NULL
 GROUP BY f.manufacturer;
CREATE UNIQUE INDEX manufacturer_counts_key ON midi.manufacturer_counts (manufacturer);

CREATE MATERIALIZED VIEW midi.collection_counts AS
SELECT f.manufacturer, f.collection_name, count(*) AS files, max(f.created_at) AS newest
  FROM midi.files f
 WHERE f.manufacturer IS NOT NULL AND f.collection_name IS NOT NULL
 GROUP BY f.manufacturer, f.collection_name;
CREATE UNIQUE INDEX collection_counts_key ON midi.collection_counts (manufacturer, collection_name);

CREATE MATERIALIZED VIEW midi.key_counts AS
SELECT f.cached_key AS key, count(*) AS files
  FROM midi.files f
 WHERE f.cached_key IS NOT NULL
 GROUP BY f.cached_key;
CREATE UNIQUE INDEX key_counts_key ON midi.key_counts (key);

CREATE MATERIALIZED VIEW midi.category_counts AS
SELECT f.cached_category AS category, count(*) AS files
  FROM midi.files f
 WHERE f.cached_category IS NOT NULL
 GROUP BY f.cached_category;
CREATE UNIQUE INDEX category_counts_key ON midi.category_counts (category);

-- 10-BPM buckets named by their lower bound (120 = 120.00 .. 129.99).
CREATE MATERIALIZED VIEW midi.bpm_bucket_counts AS
SELECT (floor(f.cached_bpm / 10) * 10)::integer AS bucket, count(*) AS files
  FROM midi.files f
 WHERE f.cached_bpm IS NOT NULL
 GROUP BY 1;
CREATE UNIQUE INDEX bpm_bucket_counts_key ON midi.bpm_bucket_counts (bucket);

CREATE MATERIALIZED VIEW midi.tag_counts AS
SELECT ft.tag_id, count(*) AS files
  FROM midi.file_tags ft
 GROUP BY ft.tag_id;
CREATE UNIQUE INDEX tag_counts_key ON midi.tag_counts (tag_id);
