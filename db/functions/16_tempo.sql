-- Tempo: the BPM ranges a tempo filter matches (half and double time) and the 10-BPM bucket of a tempo.

/* half_double_tempo: a tempo and the tempi a DJ would mix it with at half or double time, ascending
   (124 -> {62, 124, 248}). */
CREATE OR REPLACE FUNCTION midi.half_double_tempo(bpm numeric) RETURNS numeric[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT ARRAY[round(bpm / 2, 2), bpm, bpm * 2]
$$;
COMMENT ON FUNCTION midi.half_double_tempo(numeric) IS 'A tempo at half, normal and double time';

/* tempo_ranges: the inclusive BPM ranges a bpm_min / bpm_max filter matches: one range, or with
   halfdouble also the range at half and at double tempo. An open end is bounded by the 1..1000 BPM that
   files can hold. NULL when neither end is given. */
CREATE OR REPLACE FUNCTION midi.tempo_ranges(bpm_min numeric, bpm_max numeric, halfdouble boolean DEFAULT false)
RETURNS numrange[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN bpm_min IS NOT NULL OR bpm_max IS NOT NULL THEN
        ARRAY(SELECT numrange(coalesce(bpm_min, 0) * m, coalesce(bpm_max, 1000) * m, '[]')
                FROM unnest(CASE WHEN halfdouble THEN ARRAY[1, 0.5, 2] ELSE ARRAY[1] END::numeric[]) AS m
               WHERE coalesce(bpm_min, 0) * m <= 1000)
    END
$$;
COMMENT ON FUNCTION midi.tempo_ranges(numeric, numeric, boolean) IS
    'Inclusive BPM ranges of a tempo filter: [min,max], plus [min/2,max/2] and [2min,2max] with halfdouble';

/* bpm_bucket: the 10-BPM tag a tempo falls in: 124.5 -> '120-129 bpm'. */
CREATE OR REPLACE FUNCTION midi.bpm_bucket(bpm numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT (floor(bpm / 10) * 10)::integer || '-' || ((floor(bpm / 10) * 10)::integer + 9) || ' bpm'
$$;
COMMENT ON FUNCTION midi.bpm_bucket(numeric) IS 'The 10-BPM bucket tag of a tempo: 124.5 -> 120-129 bpm';
