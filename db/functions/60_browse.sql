-- What a client that opens a file's bytes needs beside the read API: where the bytes of a file can be
-- read and the hash to check them against (the browse page's preview and drag-out read them).

/* file_sources: every stored location of a file's content, in the order a reader should try them: the
   canonical path first, then the paths not marked missing, then by path. path_bytes is the location's
   exact bytes when its name is not valid UTF-8 (path then shows U+FFFD, and only path_bytes opens it);
   content_hash (BLAKE3, hex) is what the bytes read there must hash to, so a file that changed on disk
   since it was imported is never taken for this content. No rows for an unknown id. */
CREATE OR REPLACE FUNCTION midi.file_sources(file_id bigint)
RETURNS TABLE (path text, path_bytes bytea, is_canonical boolean, missing_since timestamptz, content_hash text)
LANGUAGE sql STABLE AS $$
    SELECT p.path::text, p.path_bytes, p.path = f.filepath, p.missing_since,
           encode(f.content_hash, 'hex')
      FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id
     WHERE f.id = file_sources.file_id
     ORDER BY p.path = f.filepath DESC, p.missing_since IS NOT NULL, p.path, p.path_bytes
$$;
COMMENT ON FUNCTION midi.file_sources(bigint) IS
    'Where a file''s bytes can be read (canonical first, then present paths; exact bytes of odd names) and the hash they must have';
