-- Every statement `midicenter browse` sends, by name (loaded with runner.queries.load). The page's
-- endpoints are one call of a midi.* function each, with bound parameters; the rest set up a session
-- (its role and timeout) and say what the database offers.

-- name: probe  who this login is, whether the schema is there and which midicenter roles it may take
SELECT current_user::text AS login,
       EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'midi') AS has_schema,
       CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'midi_reader')
            THEN pg_has_role(current_user, 'midi_reader', 'MEMBER') ELSE false END AS may_be_reader,
       CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'midi_writer')
            THEN pg_has_role(current_user, 'midi_writer', 'MEMBER') ELSE false END AS may_be_writer,
       current_setting('server_version') AS server_version

-- name: probe_api  what the current role may use of the schema: the API functions the page calls (the
-- missing ones listed) and midi.similar (present and executable, or not)
SELECT has_schema_privilege('midi', 'USAGE') AS may_use,
       CASE WHEN has_schema_privilege('midi', 'USAGE') THEN
           ARRAY(SELECT f FROM unnest(ARRAY['midi.search', 'midi.search_count', 'midi.facets', 'midi.file_details',
                                            'midi.file_sources']) AS f
                  WHERE to_regproc(f) IS NULL) END AS missing,
       CASE WHEN has_schema_privilege('midi', 'USAGE') AND to_regproc('midi.similar') IS NOT NULL
            THEN has_function_privilege(to_regproc('midi.similar')::oid, 'EXECUTE') ELSE false END AS similar

-- name: can_write  whether the current role may run the page's writes (favorites and ratings) itself
SELECT CASE WHEN to_regprocedure('midi.favorite_toggle(bigint)') IS NULL OR to_regprocedure('midi.rate(bigint,integer)') IS NULL
              OR to_regclass('midi.favorites') IS NULL OR to_regclass('midi.ratings') IS NULL THEN false
            ELSE has_function_privilege('midi.favorite_toggle(bigint)', 'EXECUTE')
                 AND has_function_privilege('midi.rate(bigint,integer)', 'EXECUTE')
                 AND has_table_privilege('midi.favorites', 'INSERT, DELETE')
                 AND has_table_privilege('midi.ratings', 'INSERT, UPDATE, DELETE') END AS can_write

-- name: role_timeout  the statement timeout a role gets at login (SET ROLE does not apply role settings)
SELECT coalesce((SELECT substr(c, length('statement_timeout=') + 1)
                   FROM pg_roles r, unnest(r.rolconfig) AS c
                  WHERE r.rolname = %(role)s AND c LIKE 'statement\_timeout=%%'),
                current_setting('statement_timeout')) AS timeout

-- name: set_timeout  apply that timeout to this session
SELECT set_config('statement_timeout', %(timeout)s, false)

-- name: as_reader  this session runs as midi_reader: the read API only
SET ROLE midi_reader

-- name: as_writer  this session runs as midi_writer: the read API and the library writes
SET ROLE midi_writer

-- name: reset_role  back to the login's own role (after the probe tried a role)
RESET ROLE

-- name: search  one page of results after a keyset cursor (never an offset)
SELECT * FROM midi.search(sort => %(sort)s, lim => %(lim)s, after => %(after)s, filters => %(filters)s)

-- name: search_count  how many files match: exact up to the cap, else the planner's estimate (never a full count)
SELECT * FROM midi.search_count(filters => %(filters)s)

-- name: facets  counts per facet under the filters (OR within a facet, AND across)
SELECT * FROM midi.facets(facet_limit => %(facet_limit)s, filters => %(filters)s)

-- name: file_details  everything about one file, every path included
SELECT * FROM midi.file_details(%(id)s)

-- name: file_sources  where the file's bytes are, and the hash they must have
SELECT * FROM midi.file_sources(%(id)s)

-- name: similar  files most like one file (only when the schema has midi.similar)
SELECT * FROM midi.similar(file_id => %(id)s, lim => %(lim)s)

-- name: favorite_toggle  flip a favorite; the new state
SELECT midi.favorite_toggle(%(id)s) AS favorite

-- name: rate  set (1..5) or clear (0) a rating; the rating now held
SELECT midi.rate(%(id)s, %(stars)s) AS rating
