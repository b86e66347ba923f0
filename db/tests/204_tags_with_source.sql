-- Tags the analysis gives, each with its source: category, measured BPM bucket and estimated key from
-- 'analysis'; manufacturer, genre words of name / collection / folders, and BPM or key read from the file
-- name from 'path'. They are computed (files.tag_ids, listed by midi.tag_list), never stored as file_tags
-- rows; user tags are rows and are never touched; a re-analysis replaces stale tags and changes nothing else.
BEGIN;
SELECT plan(16);

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, manufacturer, collection_name, folder_tags,
                        filename_bpm, filename_key, filename_genres)
VALUES (9301, 'Techno_Bass_128bpm.mid', '/l/Acme/Deep House Tools/bass/Techno_Bass_128bpm.mid', decode(repeat('31', 32), 'hex'), 1,
        'Acme', 'Deep House Tools', '{bass}', 128, NULL, '{techno}'),
       (9302, 'Pad Am.mid', '/l/Acme/Misc/Pad Am.mid', decode(repeat('32', 32), 'hex'), 1, 'Acme', 'Misc', '{}', NULL, 'Am', '{}'),
       (9303, 'noname.mid', '/l/noname.mid', decode(repeat('33', 32), 'hex'), 1, NULL, NULL, '{}', NULL, NULL, '{}');
-- 9301: no tempo event, the name says 128; notes say D minor. 9302: a tempo event at 92.5; the name says Am.
-- 9303: drums at MIDI's implicit 120 BPM: no tempo tag, no key tag.
INSERT INTO midi.analysis_staging (batch, file_id, parser, duration_ticks, duration_seconds, bpm, bpm_source, total_notes,
    drum_note_count, pitch_max, polyphony_max, polyphony_avg, is_monophonic, note_density, instruments, pitch_class_histogram)
VALUES (21, 9301, 'symusic', 1, 1, 120, 'default', 10, 0, 50, 1, 1, true, 3, '[{"program":38,"is_drum":false,"note_count":10}]',
        '{0.1,0,0.3,0,0.05,0.2,0,0.05,0,0.25,0.05,0}'),
       (21, 9302, 'symusic', 1, 1, 92.5, 'meta', 10, 0, 80, 4, 3.5, false, 0.5, '[{"program":89,"is_drum":false,"note_count":10}]',
        '{0.1,0,0.1,0,0.3,0,0,0.1,0,0.3,0,0.1}'),
       (21, 9303, 'symusic', 1, 1, 120, 'default', 10, 10, NULL, 0, 0, false, 3, '[{"program":0,"is_drum":true,"note_count":10}]',
        array_fill(0::float8, ARRAY[12]));
INSERT INTO midi.tags (name, category) VALUES ('favourite bass', NULL);
INSERT INTO midi.file_tags (file_id, tag_id, source) SELECT 9301, id, 'user' FROM midi.tags WHERE name = 'favourite bass';
SELECT midi.analysis_apply(21, 1);

CREATE TEMP VIEW got AS
SELECT f.id AS file_id, string_agg(tl.tag || '=' || coalesce(tl.category, '-') || '/' || tl.source, ', ' ORDER BY tl.tag) AS tags
  FROM midi.files f CROSS JOIN LATERAL midi.tag_list(f.id) tl WHERE f.id BETWEEN 9301 AND 9303 GROUP BY f.id;

SELECT is((SELECT tags FROM got WHERE file_id = 9301),
          '120-129 bpm=tempo/path, acme=manufacturer/path, bass=category/analysis, d minor=key/analysis, '
          'deep house=genre/path, favourite bass=-/user, house=genre/path, techno=genre/path',
          'a bass loop: BPM from its name (path), key estimated (analysis), genres from name and collection, the user tag kept');
SELECT is((SELECT tags FROM got WHERE file_id = 9302),
          '90-99 bpm=tempo/analysis, a minor=key/path, acme=manufacturer/path, pad=category/analysis',
          'a pad: measured BPM (analysis), key from its name (path)');
SELECT is((SELECT tags FROM got WHERE file_id = 9303), 'drums=category/analysis', 'drums at the default tempo: only the category');
SELECT is((SELECT tag_ids FROM midi.files WHERE id = 9302),
          (SELECT array_agg(t.id ORDER BY t.id) FROM midi.tag_list(9302) tl JOIN midi.tags t ON t.name = tl.tag),
          'files.tag_ids holds them');
SELECT is((SELECT string_agg(ft.file_id || ':' || t.name || '/' || ft.source, ' ') FROM midi.file_tags ft JOIN midi.tags t ON t.id = ft.tag_id),
          '9301:favourite bass/user', 'they are not stored: file_tags holds the user''s tag only');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'pad & minor') FROM midi.files WHERE id = 9302),
          'tag and category words are searchable');
SELECT is((SELECT count(*)::int FROM midi.derive_tags(ARRAY[9301, 9302, 9303]::bigint[]) d
            WHERE NOT EXISTS (SELECT 1 FROM midi.tag_list(d.file_id) tl WHERE tl.tag = d.name AND tl.source = d.source)), 0,
          'every tag derive_tags gives is listed with its source');
SELECT is((SELECT count(*)::int FROM midi.files f CROSS JOIN LATERAL midi.tag_list(f.id) tl
            WHERE f.id BETWEEN 9301 AND 9303 AND tl.source <> 'user'
              AND NOT EXISTS (SELECT 1 FROM midi.derive_tags(ARRAY[f.id]) d WHERE d.name = tl.tag)), 0,
          'and nothing else but the user''s tag');

-- the same file analyzed again, now with a tempo event: the path BPM tag goes, the measured one comes
CREATE TEMP TABLE before AS SELECT id, tag_ids FROM midi.files WHERE id IN (9302, 9303);
INSERT INTO midi.analysis_staging (batch, file_id, parser, duration_ticks, duration_seconds, bpm, bpm_source, total_notes,
    drum_note_count, pitch_max, polyphony_max, polyphony_avg, is_monophonic, note_density, instruments, pitch_class_histogram)
SELECT 22, file_id, 'symusic', 1, 1, CASE WHEN file_id = 9301 THEN 140 ELSE bpm END, CASE WHEN file_id = 9301 THEN 'meta' ELSE bpm_source END,
       total_notes, drum_note_count, pitch_max, polyphony_max, polyphony_avg, is_monophonic, note_density, instruments, pitch_class_histogram
  FROM (VALUES (9301, 120::float8, 'default', 10, 0, 50, 1, 1.0::float8, true, 3.0::float8, '[{"program":38,"is_drum":false,"note_count":10}]'::jsonb,
                '{0.1,0,0.3,0,0.05,0.2,0,0.05,0,0.25,0.05,0}'::float8[]),
               (9302, 92.5, 'meta', 10, 0, 80, 4, 3.5, false, 0.5, '[{"program":89,"is_drum":false,"note_count":10}]', '{0.1,0,0.1,0,0.3,0,0,0.1,0,0.3,0,0.1}'),
               (9303, 120, 'default', 10, 10, NULL, 0, 0, false, 3, '[{"program":0,"is_drum":true,"note_count":10}]', array_fill(0::float8, ARRAY[12])))
       v(file_id, bpm, bpm_source, total_notes, drum_note_count, pitch_max, polyphony_max, polyphony_avg, is_monophonic, note_density,
         instruments, pitch_class_histogram);
SELECT midi.analysis_apply(22, 1);
SELECT ok((SELECT tags FROM got WHERE file_id = 9301) LIKE '140-149 bpm=tempo/analysis, %'
          AND (SELECT tags FROM got WHERE file_id = 9301) NOT LIKE '%120-129%', 'a stale tag is replaced');
SELECT ok((SELECT tags FROM got WHERE file_id = 9301) LIKE '%favourite bass=-/user%', 'the user tag survives re-analysis');
SELECT results_eq('SELECT id, tag_ids FROM midi.files WHERE id IN (9302, 9303) ORDER BY 1',
                  'SELECT * FROM before ORDER BY 1', 'unchanged files keep their tags as they were');
SELECT is((SELECT count(*)::int FROM midi.tags WHERE name = 'acme'), 1, 'one tag per name');

-- computed tags follow the facts: untag cannot detach one, and a deleted one is given again
SELECT is(midi.untag(9302, 'pad'), 0, 'untag detaches user tags only');
SELECT id AS acme_id FROM midi.tags WHERE name = 'acme' \gset
DELETE FROM midi.tags WHERE name = 'acme';
SELECT ok((SELECT tags FROM got WHERE file_id = 9302) LIKE '%acme=manufacturer/path%'
          AND NOT (SELECT tag_ids FROM midi.files WHERE id = 9302) @> ARRAY[:acme_id::bigint]
          AND (SELECT tag_ids FROM midi.files WHERE id = 9302) @> ARRAY(SELECT id FROM midi.tags WHERE name = 'acme'),
          'a deleted computed tag is given again by the file''s facts (a new tag, no stale id in tag_ids)');
SELECT is(midi.untag(9301, 'favourite bass'), 1, 'a user tag is detached');
SELECT ok((SELECT tags FROM got WHERE file_id = 9301) NOT LIKE '%favourite bass%'
          AND NOT (SELECT tag_ids FROM midi.files WHERE id = 9301) && ARRAY(SELECT id FROM midi.tags WHERE name = 'favourite bass'),
          'and leaves the file''s tags and tag_ids');

SELECT * FROM finish();
ROLLBACK;
