-- The queries printed in the two seed documents (../shared/seeds) that touch midicenter's tables,
-- copied as printed. test_seed_queries.py proves each parses and plans with search_path = midi.

-- name: search_primary  "Search Queries (DatabaseWindow)" primary query
SELECT
    f.id, f.filename, f.filepath, f.file_size_bytes,
    f.created_at, f.manufacturer, f.collection_name,
    mm.bpm::FLOAT8, mm.key_signature::TEXT,
    f.duration_seconds::FLOAT8
FROM files f
LEFT JOIN musical_metadata mm ON f.id = mm.file_id
WHERE
    ($1::text IS NULL OR f.search_vector @@ plainto_tsquery('english', $1))
    AND ($2::float8 IS NULL OR mm.bpm::float8 >= $2)
    AND ($3::float8 IS NULL OR mm.bpm::float8 <= $3)
    AND ($4::text IS NULL OR mm.key_signature::text = $4)
    AND ($5::text IS NULL OR f.manufacturer = $5)
    AND ($6::text IS NULL OR f.collection_name = $6)
ORDER BY
    CASE WHEN $1::text IS NOT NULL
        THEN ts_rank(f.search_vector, plainto_tsquery('english', $1))
        ELSE 0
    END DESC,
    f.created_at DESC
LIMIT $7 OFFSET $8

-- name: duplicate_check  2.1 Duplicate Check
SELECT COUNT(*) FROM files WHERE content_hash = $1

-- name: single_insert  2.2 Single File Insert
INSERT INTO files (
    filename, filepath, original_filename, content_hash,
    file_size_bytes, format, num_tracks, ticks_per_quarter_note,
    duration_seconds, duration_ticks, manufacturer, collection_name,
    folder_tags, import_batch_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING id

-- name: single_lookup  3.1 Single File Lookup
SELECT id, filepath, filename
FROM files
WHERE id = $1

-- name: batch_track_loading  3.2 Batch Track Loading
SELECT id, filepath, filename
FROM files
WHERE id = ANY($1::BIGINT[])
ORDER BY id

-- name: file_details  4. Metadata Queries: File Details
SELECT
    f.id, f.filename, f.filepath, f.file_size_bytes,
    f.manufacturer, f.collection_name,
    mm.bpm::FLOAT8, mm.key_signature::TEXT,
    mm.time_signature_numerator, mm.time_signature_denominator,
    mm.total_notes, mm.is_percussive,
    fc.primary_category::TEXT,
    CASE WHEN fav.file_id IS NOT NULL THEN true ELSE false END as is_favorite
FROM files f
LEFT JOIN musical_metadata mm ON f.id = mm.file_id
LEFT JOIN file_categories fc ON f.id = fc.file_id
LEFT JOIN favorites fav ON f.id = fav.file_id
WHERE f.id = $1

-- name: find_by_id_essential  Quick Reference, Fix #1
SELECT id, filename, filepath, file_size_bytes FROM files WHERE id = $1

-- name: find_for_analysis  Quick Reference, Fix #1
SELECT id, filepath, filename, num_tracks, duration_seconds
               FROM files WHERE id = $1

-- name: analysis_page  Quick Reference, Fix #4 (the OFFSET paging)
SELECT id, filepath, filename FROM files WHERE analyzed_at IS NULL LIMIT $1 OFFSET $2

-- name: tag_count_before  Strategy 2, "Before (inefficient)"
SELECT f.id, f.filename,
       (SELECT COUNT(*) FROM file_tags WHERE file_id = f.id) as tag_count
FROM files f
LIMIT 100

-- name: tag_count_after  Strategy 2, "After (efficient)"
SELECT f.id, f.filename, COUNT(ft.tag_id) as tag_count
FROM files f
LEFT JOIN file_tags ft ON f.id = ft.file_id
GROUP BY f.id, f.filename
LIMIT 100

-- name: count_files  Load Testing
SELECT COUNT(*) FROM files
