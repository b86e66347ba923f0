-- Musical keys: the canonical spelling of a key, its tonic and mode, its neighbours on the circle of
-- fifths, and the key estimate of a pitch-class histogram (profiles in midi.key_profiles, their 24
-- rotated templates in midi.key_templates), used by import, analysis and search alike.

/* key_name: the canonical musical_key of a pitch class (0 = C) and mode; one spelling per key. */
CREATE OR REPLACE FUNCTION midi.key_name(pitch_class integer, minor boolean) RETURNS midi.musical_key
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT ((ARRAY['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'])[((pitch_class % 12) + 12) % 12 + 1]
            || CASE WHEN minor THEN 'm' ELSE '' END)::midi.musical_key
$$;
COMMENT ON FUNCTION midi.key_name(integer, boolean) IS
    'Canonical key of a pitch class (0=C..11=B) and mode: key_name(8, true) = Abm';


/* key_pitch_class: 0 (C) .. 11 (B) of a key's tonic; NULL for UNKNOWN. The enum lists the 12 majors,
   then the 12 minors, each from C, so the position is the arithmetic. */
CREATE OR REPLACE FUNCTION midi.key_pitch_class(k midi.musical_key) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN (array_position(enum_range(NULL::midi.musical_key), k) - 1) % 12 END
$$;
COMMENT ON FUNCTION midi.key_pitch_class(midi.musical_key) IS 'Pitch class of a key''s tonic: C=0 .. B=11 (NULL for UNKNOWN)';

/* key_is_minor: whether a key is a minor key; NULL for UNKNOWN. */
CREATE OR REPLACE FUNCTION midi.key_is_minor(k midi.musical_key) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN array_position(enum_range(NULL::midi.musical_key), k) > 12 END
$$;
COMMENT ON FUNCTION midi.key_is_minor(midi.musical_key) IS 'Whether a key is minor (NULL for UNKNOWN)';

/* relative_key: the relative minor of a major key (C -> Am) or the relative major of a minor key
   (Am -> C): same notes, other tonic. NULL for UNKNOWN. */
CREATE OR REPLACE FUNCTION midi.relative_key(k midi.musical_key) RETURNS midi.musical_key
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN midi.key_is_minor(k) THEN midi.key_name(midi.key_pitch_class(k) + 3, false)
                ELSE midi.key_name(midi.key_pitch_class(k) + 9, true) END
$$;
COMMENT ON FUNCTION midi.relative_key(midi.musical_key) IS 'Relative key: C <-> Am (NULL for UNKNOWN)';

/* fifths_neighbours: the two keys one step around the circle of fifths in the same mode, dominant first
   (C -> {G, F}; Am -> {Em, Dm}). NULL for UNKNOWN. */
CREATE OR REPLACE FUNCTION midi.fifths_neighbours(k midi.musical_key) RETURNS midi.musical_key[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN
        ARRAY[midi.key_name(midi.key_pitch_class(k) + 7, midi.key_is_minor(k)),
              midi.key_name(midi.key_pitch_class(k) + 5, midi.key_is_minor(k))] END
$$;
COMMENT ON FUNCTION midi.fifths_neighbours(midi.musical_key) IS
    'Dominant and subdominant in the same mode (one step each way around the circle of fifths)';

/* compatible_keys: keys that mix harmonically with k (the Camelot-wheel rule): k itself, its relative,
   and its two circle-of-fifths neighbours. What search(compatible_key => k) matches. */
CREATE OR REPLACE FUNCTION midi.compatible_keys(k midi.musical_key) RETURNS midi.musical_key[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k <> 'UNKNOWN' THEN ARRAY[k, midi.relative_key(k)] || midi.fifths_neighbours(k) END
$$;
COMMENT ON FUNCTION midi.compatible_keys(midi.musical_key) IS
    'Harmonically compatible keys: same, relative, and one step either way around the circle of fifths';
/* _rebuild_key_templates: fills key_templates from key_profiles: for each profile and each of the 24
   keys, the profile rotated to that tonic, centred and scaled to unit length, so the Pearson correlation
   of a histogram with a key is one dot product divided by the histogram's centred norm. Returns the
   number of templates written. */
CREATE OR REPLACE FUNCTION midi._rebuild_key_templates() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM midi.key_templates;
    INSERT INTO midi.key_templates (profile, key, weights)
    SELECT r.name, midi.key_name(r.tonic, r.minor), array_agg((r.w - s.mean) / s.norm ORDER BY r.i)
      FROM (SELECT p.name, t.tonic, m.minor, i.i,
                   -- weight of pitch class i in the key on this tonic: the profile's weight of (i - tonic)
                   (CASE WHEN m.minor THEN p.minor ELSE p.major END)[((i.i - t.tonic + 12) % 12) + 1] AS w
              FROM midi.key_profiles p, generate_series(0, 11) AS t(tonic), (VALUES (false), (true)) AS m(minor),
                   generate_series(0, 11) AS i(i)) r
      JOIN (SELECT p.name, m.minor, avg(x) AS mean, sqrt(sum(x ^ 2) - sum(x) ^ 2 / 12) AS norm
              FROM midi.key_profiles p, (VALUES (false), (true)) AS m(minor),
                   unnest(CASE WHEN m.minor THEN p.minor ELSE p.major END) AS x
             GROUP BY p.name, m.minor) s ON s.name = r.name AND s.minor = r.minor
     GROUP BY r.name, r.tonic, r.minor;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION midi._rebuild_key_templates() IS
    'Rebuilds key_templates (24 centred unit-length rotations per profile) from key_profiles; returns rows written';

/* _key_profiles_changed: statement trigger on key_profiles: any change rebuilds the templates. */
CREATE OR REPLACE FUNCTION midi._key_profiles_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM midi._rebuild_key_templates();
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION midi._key_profiles_changed() IS 'Trigger function: rebuilds key_templates after key_profiles change';

CREATE OR REPLACE TRIGGER key_profiles_templates
    AFTER INSERT OR UPDATE OF name, major, minor OR DELETE ON midi.key_profiles
    FOR EACH STATEMENT EXECUTE FUNCTION midi._key_profiles_changed();

-- Templates for the profiles the migration inserted (idempotent; re-run after every migrate).
SELECT midi._rebuild_key_templates();

/* _dot12: the dot product of two 12-element arrays, written out so the planner inlines it into one
   expression (no unnest, no loop): a key correlation costs 12 multiplications. */
CREATE OR REPLACE FUNCTION midi._dot12(a float8[], b float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT a[1] * b[1] + a[2] * b[2] + a[3] * b[3] + a[4] * b[4] + a[5] * b[5] + a[6] * b[6]
         + a[7] * b[7] + a[8] * b[8] + a[9] * b[9] + a[10] * b[10] + a[11] * b[11] + a[12] * b[12]
$$;
COMMENT ON FUNCTION midi._dot12(float8[], float8[]) IS 'Dot product of two 12-element arrays (inlined)';

/* _centred_norm12: the length of a 12-element array minus its mean; 0 for a flat or empty histogram. */
CREATE OR REPLACE FUNCTION midi._centred_norm12(h float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sqrt(greatest(0, midi._dot12(h, h)
           - (h[1] + h[2] + h[3] + h[4] + h[5] + h[6] + h[7] + h[8] + h[9] + h[10] + h[11] + h[12]) ^ 2 / 12))
$$;
COMMENT ON FUNCTION midi._centred_norm12(float8[]) IS 'Euclidean norm of a 12-element array after subtracting its mean';

/* default_key_profile: the name of the profile analysis estimates keys with (Aarden-Essen unless
   redetect_keys chose another). */
CREATE OR REPLACE FUNCTION midi.default_key_profile() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p.name FROM midi.key_profiles p WHERE p.is_default
$$;
COMMENT ON FUNCTION midi.default_key_profile() IS 'Name of the key profile analysis uses (the is_default row)';

/* estimate_key: the key of a pitch-class histogram (C first) by Pearson correlation with the 24
   rotations of a key profile (the default profile when none is named): best and second-best key, their
   correlations, and a confidence from the gap, (r1 - r2) / (1 - r2), 0 when the best correlation is not
   positive. No row for a flat or all-zero histogram (drums only, no notes): no key can be told. A
   set-returning SQL function so that the planner inlines it into the batch statements. */
CREATE OR REPLACE FUNCTION midi.estimate_key(histogram float8[], profile text DEFAULT NULL)
RETURNS TABLE (key midi.musical_key, second_key midi.musical_key, correlation float8, second_correlation float8,
               confidence real, key_profile text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.k1, b.k2, b.r1, b.r2,
           CASE WHEN b.r1 > 0 THEN least(1, greatest(0, (b.r1 - b.r2) / nullif(1 - b.r2, 0)))::real ELSE 0 END,
           a.p
      FROM (SELECT coalesce(profile, (SELECT p.name FROM midi.key_profiles p WHERE p.is_default)) AS p,
                   midi._centred_norm12(histogram) AS norm) a
           CROSS JOIN LATERAL (
               SELECT (array_agg(x.key ORDER BY x.r DESC, x.key))[1] AS k1,
                      (array_agg(x.key ORDER BY x.r DESC, x.key))[2] AS k2,
                      max(x.r) AS r1, min(x.r) AS r2
                 FROM (SELECT t.key, midi._dot12(histogram, t.weights) / a.norm AS r
                         FROM midi.key_templates t
                        WHERE t.profile = a.p AND a.norm > 1e-9 AND cardinality(histogram) = 12
                        ORDER BY 2 DESC, t.key
                        LIMIT 2) x) b
     WHERE b.k1 IS NOT NULL
$$;
COMMENT ON FUNCTION midi.estimate_key(float8[], text) IS
    'Best and second key of a 12-bin pitch-class histogram by profile correlation, with confidence (no row when flat)';

/* choose_key: the key a file is labelled with, and where it came from: a key-signature event first
   (a lone C major was already dropped by the analyzer: sequencers write it by default), then the key
   the file name states, then the estimate from the notes. One row; a set-returning SQL function so the
   planner inlines it into the batch statements. */
CREATE OR REPLACE FUNCTION midi.choose_key(
    from_signature midi.musical_key, from_filename midi.musical_key, estimate midi.musical_key
) RETURNS TABLE (key midi.musical_key, source text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(from_signature, from_filename, estimate, 'UNKNOWN'),
           CASE WHEN from_signature IS NOT NULL THEN 'signature'
                WHEN from_filename IS NOT NULL THEN 'filename'
                WHEN estimate IS NOT NULL THEN 'estimate' END
$$;
COMMENT ON FUNCTION midi.choose_key(midi.musical_key, midi.musical_key, midi.musical_key) IS
    'Chosen key and its source: signature, else filename, else estimate (UNKNOWN / NULL when none)';

/* key_words: a key as words for tags and people: 'Ebm' -> 'eb minor', 'F#' -> 'f# major'. */
CREATE OR REPLACE FUNCTION midi.key_words(k midi.musical_key) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN k = 'UNKNOWN' THEN NULL
                WHEN right(k::text, 1) = 'm' THEN lower(left(k::text, -1)) || ' minor'
                ELSE lower(k::text) || ' major' END
$$;
COMMENT ON FUNCTION midi.key_words(midi.musical_key) IS 'A key in words, lower case: Ebm -> eb minor (NULL for UNKNOWN)';
