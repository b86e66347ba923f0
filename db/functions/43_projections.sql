-- Projections and loading: the seed's narrow row shapes, a file's details and the places of its
-- content.

/* file_essential: the four columns a result list needs (the seed's FileEssential projection). */
CREATE OR REPLACE FUNCTION midi.file_essential(file_id bigint)
RETURNS TABLE (id bigint, filename text, filepath text, file_size_bytes bigint)
LANGUAGE sql STABLE AS $$
    SELECT f.id, f.filename, f.filepath::text, f.file_size_bytes FROM midi.files f WHERE f.id = file_id
$$;
COMMENT ON FUNCTION midi.file_essential(bigint) IS 'id, filename, filepath, file_size_bytes of one file';

/* file_for_analysis: what an analyzer needs to open files (the seed's FileForAnalysis projection), in
   the order the ids were given. */
CREATE OR REPLACE FUNCTION midi.file_for_analysis(ids bigint[])
RETURNS TABLE (id bigint, filepath text, filename text, num_tracks smallint, duration_seconds numeric)
LANGUAGE sql STABLE AS $$
    SELECT f.id, f.filepath::text, f.filename, f.num_tracks, f.duration_seconds
      FROM unnest(ids) WITH ORDINALITY AS u(id, ord)
      JOIN midi.files f ON f.id = u.id
     ORDER BY u.ord
$$;
COMMENT ON FUNCTION midi.file_for_analysis(bigint[]) IS 'id, filepath, filename, num_tracks, duration_seconds of files, in the order asked';

/* load_tracks: id, filepath and filename of the files a DAW is loading, in exactly the order asked
   (duplicates repeat; unknown ids are skipped). Primary-key lookups, no sort of the table. */
CREATE OR REPLACE FUNCTION midi.load_tracks(ids bigint[])
RETURNS TABLE (id bigint, filepath text, filename text)
LANGUAGE sql STABLE AS $$
    SELECT f.id, f.filepath::text, f.filename
      FROM unnest(ids) WITH ORDINALITY AS u(id, ord)
      JOIN midi.files f ON f.id = u.id
     ORDER BY u.ord
$$;
COMMENT ON FUNCTION midi.load_tracks(bigint[]) IS 'id, filepath, filename of the given files, in the order asked';

/* file_details: everything about one file: the seed's four-table view (files, musical_metadata,
   file_categories, favorites) plus rating, tags, instruments and every path the content was seen at. */
CREATE OR REPLACE FUNCTION midi.file_details(file_id bigint)
RETURNS TABLE (
    id bigint, filename text, filepath text, file_size_bytes bigint, manufacturer text, collection_name text,
    folder_tags text[], bpm double precision, key_signature text, time_signature_numerator smallint,
    time_signature_denominator smallint, total_notes integer, is_percussive boolean, primary_category text,
    secondary_category text, is_favorite boolean, rating smallint, duration_seconds numeric, num_tracks smallint,
    format smallint, tags text[], instruments text[], paths text[], content_hash text, created_at timestamptz,
    analyzed_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT f.id, f.filename, f.filepath::text, f.file_size_bytes, f.manufacturer, f.collection_name, f.folder_tags,
           coalesce(mm.bpm, f.cached_bpm)::float8, coalesce(mm.key_signature, f.cached_key)::text,
           mm.time_signature_numerator, mm.time_signature_denominator, mm.total_notes, mm.is_percussive,
           fc.primary_category::text, fc.secondary_category::text, fav.file_id IS NOT NULL, r.rating,
           f.duration_seconds, f.num_tracks, f.format,
           -- every tag it carries: its users' and the ones its facts give (computed into tag_ids)
           ARRAY(SELECT t.name FROM unnest(f.tag_ids) AS x(tag_id) JOIN midi.tags t ON t.id = x.tag_id ORDER BY t.name),
           -- a channel or program analysis could not tell is NULL and printed as nothing / 'no program set'
           ARRAY(SELECT coalesce(fi.instrument_name, CASE WHEN fi.is_drum THEN 'drum kit' END, 'program ' || fi.program,
                                 'no program set')
                        || coalesce(' (ch ' || fi.channel + 1 || ')', '')
                   FROM midi.file_instruments fi WHERE fi.file_id = f.id
                  ORDER BY fi.channel, fi.program, fi.is_drum, fi.note_count DESC),
           ARRAY(SELECT p.path::text FROM midi.file_paths p WHERE p.file_id = f.id ORDER BY p.path),
           encode(f.content_hash, 'hex'), f.created_at, f.analyzed_at
      FROM midi.files f
      LEFT JOIN midi.musical_metadata mm ON mm.file_id = f.id
      LEFT JOIN midi.file_categories fc ON fc.file_id = f.id
      LEFT JOIN midi.favorites fav ON fav.file_id = f.id
      LEFT JOIN midi.ratings r ON r.file_id = f.id
     WHERE f.id = file_details.file_id
$$;
COMMENT ON FUNCTION midi.file_details(bigint) IS
    'One file with metadata, category, favorite, rating, tags, instruments and all its paths';

/* duplicates_of: every location where the content of a file was seen (files holds one row per distinct
   content, so byte-identical copies are these paths), canonical path first, then by path. */
CREATE OR REPLACE FUNCTION midi.duplicates_of(file_id bigint)
RETURNS TABLE (path text, is_canonical boolean, first_seen timestamptz, last_seen timestamptz, missing_since timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT p.path::text, p.path = f.filepath, p.first_seen, p.last_seen, p.missing_since
      FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id
     WHERE f.id = duplicates_of.file_id
     ORDER BY p.path = f.filepath DESC, p.path
$$;
COMMENT ON FUNCTION midi.duplicates_of(bigint) IS
    'Every path holding the same content as the file (byte-identical copies), canonical first';
