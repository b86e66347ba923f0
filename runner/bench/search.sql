-- The SQL of `midicenter bench search` (runner/bench/search.py), each statement under a "-- name:"
-- header. The fill builds a realistic library of N files in SQL, skewed the way sample libraries are:
-- a few manufacturers and collections hold most files, "bass" is in about 15 percent of all names,
-- descriptor words follow Zipf's law so the tail words are rare, tempi cluster at 120-128 and 170-174.

-- name: seed_random  fixed random sequence, so the same N gives the same library
SELECT setseed(%(seed)s)

-- name: words  descriptor vocabulary: real words first (common), invented words after (the rare tail)
CREATE TEMP TABLE bench_words AS
SELECT i AS idx,
       CASE WHEN i <= cardinality(real) THEN real[i]
            ELSE initcap(s[1 + i % 16] || s[1 + (i / 16) % 16] || s[1 + (i / 256) % 16] || s[1 + i / 4096] || 'x') END AS word
  FROM (SELECT ARRAY['Dark', 'Deep', 'Warm', 'Analog', 'Vintage', 'Funky', 'Smooth', 'Heavy', 'Dirty', 'Bright',
                     'Lush', 'Soft', 'Hard', 'Groovy', 'Chill', 'Epic', 'Dreamy', 'Retro', 'Acid', 'Tribal',
                     'Jazzy', 'Soulful', 'Uplifting', 'Emotional', 'Melodic', 'Driving', 'Bouncy', 'Rolling',
                     'Punchy', 'Gritty', 'Crunchy', 'Wobble', 'Detuned', 'Filtered', 'Distorted', 'Clean', 'Wide',
                     'Mono', 'Short', 'Long', 'Night', 'Sunset', 'Summer', 'Winter', 'City', 'Space', 'Ocean',
                     'Fire', 'Ice', 'Gold', 'Silver', 'Neon', 'Velvet', 'Crystal', 'Shadow', 'Storm', 'Cosmic',
                     'Hypnotic', 'Organic', 'Rusty', 'Glassy', 'Airy', 'Moody', 'Sad', 'Happy', 'Lazy', 'Broken',
                     'Stuttered', 'Swung', 'Triplet', 'Syncopated', 'Offbeat', 'Rising', 'Falling', 'Pulsing',
                     'Floating', 'Haunted', 'Golden', 'Midnight', 'Morning', 'Electric', 'Liquid', 'Solar',
                     'Lunar', 'Urban', 'Island', 'Desert', 'Arctic', 'Jungle', 'Garden', 'Marble', 'Copper']
                      AS real,
               ARRAY['ka', 'lo', 'mi', 'ru', 'ta', 'zo', 'bi', 'nu', 'do', 'fa', 'gu', 'ho', 'ji', 'pa', 'so', 'vu']
                      AS s) v,
       generate_series(1, 5000) AS i

-- name: words_key
ALTER TABLE bench_words ADD PRIMARY KEY (idx)

-- name: manufacturers  400 manufacturers; the first ones are the big names of a library
CREATE TEMP TABLE bench_makers AS
SELECT i AS idx,
       CASE WHEN i <= cardinality(real) THEN real[i] ELSE 'Studio ' || (SELECT word FROM bench_words WHERE idx = 100 + i * 7) END AS name
  FROM (SELECT ARRAY['Loopforge', 'Prime Grooves', 'Octave Lab', 'Function Audio', 'Ghostline', 'Cymatic Works',
                     'Sample Smith', 'Big Fin Audio', 'Zenith Sounds', 'Mode Samples', 'Niche Loops', 'Wavecraft',
                     'Toolbox Records', 'Vengeful Audio', 'Fresh Squeeze', 'Unmuted', 'Hydrogen Sounds',
                     'Resonant Labs', 'Revolution Samples', 'ADSR Kits', 'Bass Boutique', 'Singo Makers',
                     'Sample Star', 'Delectable Loops', 'Industrial Sounds', 'Kit Kreme', 'MIDI Mafia',
                     'Producer Pack', 'Loop Lords', 'Chord Club'] AS real) v,
       generate_series(1, 400) AS i

-- name: tags  300 user and analysis tags: moods and uses first (common), then rarer ones
CREATE TEMP TABLE bench_tags AS
SELECT i AS id,
       CASE WHEN i <= cardinality(real) THEN real[i] ELSE lower((SELECT word FROM bench_words WHERE idx = 200 + i * 11)) || ' vibe' END AS name
  FROM (SELECT ARRAY['club', 'chill', 'cinematic', 'dark', 'uplifting', 'vintage', 'warm', 'lofi', 'trap',
                     'festival', 'radio', 'underground', 'melodic', 'percussive', 'atmospheric', 'aggressive',
                     'happy', 'sad', 'epic', 'minimal', 'groovy', 'jazzy', 'soulful', 'retro', 'future',
                     'organic', 'experimental', 'dance', 'ambient', 'live'] AS real) v,
       generate_series(1, 300) AS i

-- name: tags_key
ALTER TABLE bench_tags ADD PRIMARY KEY (id)

-- name: source  every random choice of every file, drawn once
CREATE TEMP TABLE bench_src AS
SELECT g.i AS id,
       r.maker, r.coll, r.cat, r.genre, r.w1, r.w2, r.variant, r.bpm, r.key, r.bpm_in_name, r.key_in_name,
       r.analyzed, r.folder_cat, r.tag_ids, r.fav, r.rating, r.dup_path, r.size, r.seconds
  FROM generate_series(1, %(n)s) AS g(i)
 CROSS JOIN LATERAL (
       SELECT floor(400 * power(random(), 2.2))::integer + 1 AS maker,
              floor(14 * power(random(), 1.6))::integer + 1 AS coll,
              -- categories weighted as sample libraries are: many drum parts and basslines, few brass
              (ARRAY['drums', 'kick', 'snare', 'hats', 'cymbals', 'percussion', 'bass', 'chords', 'pad', 'lead',
                     'melody', 'arp', 'pluck', 'keys', 'piano', 'organ', 'guitar', 'strings', 'brass', 'woodwind',
                     'synth', 'fx', 'vocal', 'full_mix'])[width_bucket(random(),
                     ARRAY[0, .10, .14, .17, .20, .21, .25, .40, .50, .56, .64, .72, .78, .82, .86, .90, .91, .93, .95,
                           .96, .97, .98, .99, .995, 1.0]::float8[])] AS cat,
              CASE WHEN random() < 0.6 THEN (ARRAY['House', 'Techno', 'Trance', 'Trap', 'HipHop', 'DnB', 'Dubstep',
                     'Pop', 'RnB', 'Lofi', 'Ambient', 'Disco', 'Funk', 'Garage', 'Afro', 'Reggaeton', 'Drill',
                     'Synthwave', 'Cinematic', 'Jazz'])[floor(20 * power(random(), 1.5))::integer + 1] END AS genre,
              -- descriptor words follow Zipf's law (log-uniform rank): the first is in 8 percent of the
              -- draws, the last few thousand in a few dozen names per million files
              floor(exp(random() * ln(5000)))::integer AS w1,
              CASE WHEN random() < 0.5 THEN floor(exp(random() * ln(5000)))::integer END AS w2,
              floor(random() * 24)::integer + 1 AS variant,
              CASE WHEN random() < 0.88 THEN (ARRAY[70, 75, 80, 85, 88, 90, 93, 95, 98, 100, 102, 105, 108, 110, 112,
                     115, 118, 120, 122, 123, 124, 125, 126, 127, 128, 130, 132, 135, 138, 140, 145, 150, 155, 160,
                     165, 170, 172, 174, 175, 180])[width_bucket(random(),
                     ARRAY[0, .02, .03, .05, .07, .08, .12, .13, .16, .17, .20, .21, .23, .24, .26, .27, .28, .29, .36,
                           .39, .41, .50, .54, .61, .63, .72, .76, .77, .79, .80, .87, .88, .89, .90, .91, .92, .96,
                           .97, .99, .995, 1.0]::float8[])] END AS bpm,
              CASE WHEN random() < 0.8 THEN (enum_range(NULL::midi.musical_key))[
                     CASE WHEN random() < 0.6 THEN 13 ELSE 1 END + floor(random() * 12)::integer] END AS key,
              random() < 0.6 AS bpm_in_name,
              random() < 0.5 AS key_in_name,
              random() < 0.9 AS analyzed,
              random() < 0.5 AS folder_cat,
              ARRAY(SELECT DISTINCT floor(300 * power(random(), 2.5))::bigint + 1 + 0 * g.i
                      FROM generate_series(1, floor(random() * 3.5)::integer) ORDER BY 1) AS tag_ids,
              random() < 0.01 AS fav,
              CASE WHEN random() < 0.02 THEN floor(random() * 5)::integer + 1 END AS rating,
              random() < 0.05 AS dup_path,
              (400 + floor(random() * 30000))::bigint AS size,
              round((2 + random() * random() * 120)::numeric, 3) AS seconds
         WHERE g.i > 0) r

-- name: names  file names, places and search words of every file
CREATE TEMP TABLE bench_named AS
SELECT s.*, m.name AS manufacturer, c.collection_name, f.folder_tags, n.filename, i.instrument
  FROM bench_src s
  JOIN bench_makers m ON m.idx = s.maker
 CROSS JOIN LATERAL (
       SELECT (SELECT word FROM bench_words WHERE idx = 1 + (s.maker * 31 + s.coll * 7) % 90) || ' '
              || (ARRAY['Grooves', 'Loops', 'MIDI', 'Essentials', 'Toolkit', 'Sessions', 'Collection',
                        'Anthems', 'Vibes', 'Kit'])[1 + (s.maker + s.coll) % 10] || ' Vol ' || s.coll AS collection_name) c
 CROSS JOIN LATERAL (
       SELECT CASE WHEN s.folder_cat THEN ARRAY['midi', replace(s.cat, '_', ' ')] ELSE ARRAY['midi', 'loops'] END AS folder_tags) f
 CROSS JOIN LATERAL (
       SELECT (ARRAY['Drums', 'Kick', 'Snare', 'Hats', 'Ride', 'Perc', 'Bass', 'Chords', 'Pad', 'Lead', 'Melody',
                     'Arp', 'Pluck', 'Keys', 'Piano', 'Organ', 'Guitar', 'Strings', 'Brass', 'Flute', 'Synth', 'FX',
                     'Vocal', 'Full'])[array_position(ARRAY['drums', 'kick', 'snare', 'hats', 'cymbals', 'percussion',
                     'bass', 'chords', 'pad', 'lead', 'melody', 'arp', 'pluck', 'keys', 'piano', 'organ', 'guitar',
                     'strings', 'brass', 'woodwind', 'synth', 'fx', 'vocal', 'full_mix'], s.cat)] AS word) cw
 CROSS JOIN LATERAL (
       SELECT concat_ws('_', s.genre, (SELECT word FROM bench_words WHERE idx = s.w1),
                        (SELECT word FROM bench_words WHERE idx = s.w2),
                        -- "Sub Bass", "Reese Bass" and "Future Bass" make bass broader than its category
                        CASE WHEN s.cat = 'bass' AND s.variant % 3 = 0 THEN 'Sub' WHEN s.cat = 'bass' AND s.variant % 5 = 0 THEN 'Reese' END,
                        cw.word, lpad(s.variant::text, 2, '0'),
                        CASE WHEN s.bpm_in_name AND s.bpm IS NOT NULL THEN s.bpm || 'bpm' END,
                        CASE WHEN s.key_in_name AND s.key IS NOT NULL THEN s.key::text END) || '.mid' AS filename) n
 CROSS JOIN LATERAL (
       SELECT CASE WHEN s.cat IN ('drums', 'kick', 'snare', 'hats', 'cymbals', 'percussion') THEN 'Standard Kit'
                   WHEN s.cat = 'bass' THEN 'Synth Bass 1' WHEN s.cat IN ('keys', 'piano') THEN 'Acoustic Grand Piano'
                   WHEN s.cat IN ('strings', 'pad') THEN 'String Ensemble 1' ELSE 'Lead 1 (square)' END AS instrument) i

-- name: files  the files rows, with their denormalized search columns as the triggers would set them
INSERT INTO midi.files (id, filename, filepath, original_filename, content_hash, file_size_bytes, format, num_tracks,
                        ticks_per_quarter_note, duration_seconds, duration_ticks, manufacturer, collection_name,
                        folder_tags, search_vector, created_at, updated_at, analyzed_at, cached_bpm, cached_key,
                        cached_category, tag_ids, filename_bpm, filename_key)
SELECT b.id, b.filename,
       -- a folder per file keeps generated paths unique (two random names may coincide)
       '/library/' || b.manufacturer || '/' || b.collection_name || '/' || array_to_string(b.folder_tags, '/') || '/'
           || to_hex(b.id) || '/' || b.filename,
       b.filename, sha256(int8send(b.id)), b.size, 1, 2 + mod(b.id, 3)::smallint, 480, b.seconds,
       (b.seconds * 960)::bigint, b.manufacturer, b.collection_name, b.folder_tags,
       midi.name_vector(b.filename) || midi.place_vector(b.manufacturer, b.collection_name, b.folder_tags)
           || setweight(to_tsvector('midi.names', midi.name_words(concat_ws(' ',
                  (SELECT string_agg(t.name, ' ') FROM bench_tags t WHERE t.id = ANY (b.tag_ids)),
                  CASE WHEN b.analyzed THEN b.cat END,
                  CASE WHEN b.analyzed THEN b.instrument END))), 'D'),
       ts.created_at, ts.created_at, CASE WHEN b.analyzed THEN ts.created_at + interval '1 minute' END,
       CASE WHEN b.analyzed OR b.bpm_in_name THEN b.bpm END,
       CASE WHEN b.analyzed OR b.key_in_name THEN b.key END,
       CASE WHEN b.analyzed THEN b.cat::midi.file_category END,
       b.tag_ids,
       CASE WHEN b.bpm_in_name THEN b.bpm END,
       CASE WHEN b.key_in_name THEN b.key END
  FROM bench_named b
 CROSS JOIN LATERAL (
       -- one import per 2,000 files over three years; every file of an import has the same created_at
       SELECT timestamptz '2022-01-01 00:00+00'
              + ((b.id - 1) / 2000) * (interval '3 years' / greatest(1, %(n)s / 2000)) AS created_at) ts
 ORDER BY b.id

-- name: file_paths  every file's path, plus a second copy of 5 percent of them elsewhere
INSERT INTO midi.file_paths (path, file_id, first_seen, last_seen)
SELECT f.filepath, f.id, f.created_at, f.created_at FROM midi.files f
UNION ALL
SELECT '/library/Duplicates/' || to_hex(b.id) || '/' || b.filename, b.id, now(), now() FROM bench_named b WHERE b.dup_path

-- name: metadata  musical facts of the analyzed files
INSERT INTO midi.musical_metadata (file_id, bpm, key_signature, time_signature_numerator, time_signature_denominator,
                                   total_notes, unique_pitches, is_percussive, is_monophonic, has_chords, has_melody)
SELECT b.id, b.bpm, coalesce(b.key, 'UNKNOWN'),
       CASE WHEN b.id % 20 = 0 THEN 3 WHEN b.id % 33 = 0 THEN 6 ELSE 4 END,
       CASE WHEN b.id % 33 = 0 AND b.id % 20 <> 0 THEN 8 ELSE 4 END,
       16 + (b.id::bigint * 7919) % 900, 1 + (b.id % 24),
       b.cat IN ('drums', 'kick', 'snare', 'hats', 'cymbals', 'percussion'),
       b.cat IN ('bass', 'lead', 'melody', 'arp', 'pluck'), b.cat IN ('chords', 'pad', 'keys', 'piano', 'strings'),
       b.cat IN ('lead', 'melody', 'vocal')
  FROM bench_named b WHERE b.analyzed

-- name: categories  categories of the analyzed files
INSERT INTO midi.file_categories (file_id, primary_category, confidence)
SELECT b.id, b.cat::midi.file_category, 0.8 FROM bench_named b WHERE b.analyzed

-- name: instruments  one playing instrument per analyzed file
INSERT INTO midi.file_instruments (file_id, channel, program, is_drum, note_count, instrument_name)
SELECT b.id, CASE WHEN b.cat IN ('drums', 'kick', 'snare', 'hats', 'cymbals', 'percussion') THEN 9 ELSE 0 END,
       CASE b.instrument WHEN 'Synth Bass 1' THEN 38 WHEN 'Acoustic Grand Piano' THEN 0
                         WHEN 'String Ensemble 1' THEN 48 WHEN 'Lead 1 (square)' THEN 80 ELSE 0 END,
       b.instrument = 'Standard Kit', 64, b.instrument
  FROM bench_named b WHERE b.analyzed

-- name: tag_rows  the tags
INSERT INTO midi.tags (id, name) SELECT t.id, t.name FROM bench_tags t ORDER BY t.id

-- name: file_tag_rows  which file carries which tag (the same ids as files.tag_ids)
INSERT INTO midi.file_tags (file_id, tag_id, source)
SELECT b.id, t.tag_id, CASE WHEN b.id % 3 = 0 THEN 'user' ELSE 'analysis' END
  FROM bench_named b CROSS JOIN LATERAL unnest(b.tag_ids) AS t(tag_id)

-- name: favorite_rows  one percent favorites
INSERT INTO midi.favorites (file_id) SELECT b.id FROM bench_named b WHERE b.fav

-- name: rating_rows  two percent rated
INSERT INTO midi.ratings (file_id, rating) SELECT b.id, b.rating FROM bench_named b WHERE b.rating IS NOT NULL

-- name: sequences  identity sequences past the explicit ids
SELECT setval(pg_get_serial_sequence('midi.files', 'id'), (SELECT max(id) FROM midi.files)),
       setval(pg_get_serial_sequence('midi.tags', 'id'), (SELECT max(id) FROM midi.tags))

-- name: droppable_indexes  the non-constraint indexes of the filled tables (dropped for the load, rebuilt after)
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'midi'
   AND c.relname IN ('files', 'file_paths', 'musical_metadata', 'file_categories', 'file_instruments', 'file_tags')
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
 ORDER BY 1

-- name: stats  what the filled library looks like
SELECT (SELECT count(*) FROM midi.files) AS files,
       (SELECT count(*) FROM midi.files WHERE search_vector @@ to_tsquery('midi.names', 'bass')) AS bass_files,
       (SELECT count(*) FROM midi.file_tags) AS file_tags,
       (SELECT count(*) FROM midi.favorites) AS favorites,
       pg_size_pretty(pg_total_relation_size('midi.files')) AS files_size

-- name: rare_words  invented tail words (each in a few dozen names per million files)
SELECT lower(word) FROM bench_words WHERE idx > 4000 AND idx % 37 = 0 ORDER BY idx LIMIT 40

-- name: common_words  head words, each in thousands of names
SELECT lower(word) FROM bench_words WHERE idx <= 12 ORDER BY idx

-- name: top_makers  the manufacturers with most files
SELECT manufacturer FROM midi.manufacturer_counts ORDER BY files DESC LIMIT 20

-- name: top_tags  tag names from common to moderately rare
SELECT t.name FROM midi.tag_counts c JOIN midi.tags t ON t.id = c.tag_id ORDER BY c.files DESC LIMIT 60

-- name: match_count  how many files a word query matches (to report the shape's breadth)
SELECT count(*) FROM midi.files WHERE search_vector @@ midi.parse_query(%s)

-- name: mid_words  descriptor words that may hold a few thousand matches per million files (counted after)
SELECT lower(word) FROM bench_words WHERE idx BETWEEN 20 AND 160 AND idx % 4 = 0 ORDER BY idx

-- name: sqlite_copy  the catalog as the SQLite FTS5 copy takes it: name words as midi.name_words splits them
SELECT f.id, f.filename, midi.name_words(f.filename), f.manufacturer, f.cached_key::text, f.cached_bpm::float8
  FROM midi.files f
 ORDER BY f.id
