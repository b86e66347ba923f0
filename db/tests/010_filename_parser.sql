-- midi.parse_filename reads BPM, key, genre and structure words from real-world sample-pack file names.
BEGIN;
CREATE TEMP TABLE cases (name text, bpm numeric, key text, genres text[], structure text[]) ON COMMIT DROP;
INSERT INTO cases VALUES
    ('DeepHouse_Bass_124bpm_Am_03.mid',            124,   'Am',   '{deep house,house}', '{}'),
    ('Lead 128 BPM F#m.mid',                        128,   'F#m',  '{}', '{}'),
    ('Chords_Cmaj7_120.mid',                        120,   NULL,   '{}', '{}'),        -- Cmaj7 is a chord
    ('Bass_A min_90.mid',                           90,    'Am',   '{}', '{}'),
    ('Pad-Ebmaj-100bpm.MID',                        100,   'Eb',   '{}', '{}'),
    ('Kit_A.mid',                                   NULL,  NULL,   '{}', '{}'),        -- a variation letter
    ('Drum Loop 808 v2.mid',                        NULL,  NULL,   '{}', '{loop}'),    -- 808 is a drum machine
    ('Vol 3 Bass 124.mid',                          NULL,  NULL,   '{}', '{}'),        -- two numbers: no lone BPM
    ('TrapHihat_140_Gm_Loop.mid',                   140,   'Gm',   '{trap}', '{loop}'),
    ('HipHop_Verse_Chorus_Bbmin_92BPM.mid',         92,    'Bbm',  '{hip hop}', '{chorus,verse}'),
    ('song.mid',                                    NULL,  NULL,   '{}', '{}'),
    ('Bass_124_C.mid',                              124,   'C',    '{}', '{}'),        -- bare letter with a BPM
    ('Bm Arp 87.5bpm.mid',                          87.5,  'Bm',   '{}', '{}'),
    ('a minor.mid',                                 NULL,  'Am',   '{}', '{}'),
    ('Song-Gb-Major.mid',                           NULL,  'F#',   '{}', '{}'),        -- one spelling per key
    ('120-bpm-d-minor.mid',                         120,   'Dm',   '{}', '{}'),
    ('F#-minor-lead.mid',                           NULL,  'F#m',  '{}', '{}'),
    ('Em9_lush_pad_80bpm.mid',                      80,    NULL,   '{}', '{}'),        -- Em9 is a chord
    ('Ab_Minor_140.mid',                            140,   'Abm',  '{}', '{}'),
    ('G#m_Pluck_150.mid',                           150,   'Abm',  '{}', '{}'),        -- G#m is spelled Abm
    ('R&B_Keys_Ebm_75bpm.mid',                      75,    'Ebm',  '{rnb}', '{}'),
    ('Cmaj7-Am7-Dm7-G7 progression.mid',            NULL,  NULL,   '{}', '{}'),
    ('Lead_F#_128.mid',                             128,   'F#',   '{}', '{}'),
    ('eb major 100.mid',                            100,   'Eb',   '{}', '{}'),
    ('C#min Arp.mid',                               NULL,  'C#m',  '{}', '{}'),
    ('Techno_Rumble_Kick_130BPM_F.mid',             130,   'F',    '{techno}', '{}'),
    ('Drum and Bass Intro.mid',                     NULL,  NULL,   '{drum and bass}', '{intro}'),
    ('DnB_Amen_Break_174.mid',                      174,   NULL,   '{drum and bass}', '{break}'),
    ('bpm120_Cm.mid',                               120,   'Cm',   '{}', '{}'),
    ('BPM_95_Dbmaj_Keys.mid',                       95,    'C#',   '{}', '{}'),
    ('124_BPM_Deep_Bass.mid',                       124,   NULL,   '{}', '{}'),
    ('Future Bass Chords Db 150.mid',               150,   'C#',   '{future bass}', '{}'),
    ('Fill_A_120bpm.mid',                           120,   'A',    '{}', '{fill}'),
    ('Intro_Piano_70.midi',                         70,    NULL,   '{}', '{intro}'),
    ('Outro-Strings-Bbm.kar',                       NULL,  'Bbm',  '{}', '{outro}'),
    ('MelodyLoop_Dsharp_minor_128.mid',             128,   'Ebm',  '{}', '{loop}'),
    ('Track 01.mid',                                NULL,  NULL,   '{}', '{}'),        -- 01 is not a BPM
    ('Beethoven - Moonlight Sonata (C#m).mid',      NULL,  'C#m',  '{}', '{}'),
    ('house_groove_126.mid',                        126,   NULL,   '{house}', '{groove}'),
    ('Reggaeton_Perc_95_BPM.mid',                   95,    NULL,   '{reggaeton}', '{}'),
    ('Synthwave Arp E Minor 100bpm.mid',            100,   'Em',   '{synthwave}', '{}'),
    ('LoFi_Chords_Fmaj_85.mid',                     85,    'F',    '{lofi}', '{}'),
    ('300bpm_speedcore.mid',                        300,   NULL,   '{}', '{}'),
    ('Amapiano Log Drum 112.mid',                   112,   NULL,   '{}', '{}'),        -- Ama... is no key
    ('Verse.Chorus.Bridge.mid',                     NULL,  NULL,   '{}', '{bridge,chorus,verse}'),
    ('Break_09.mid',                                NULL,  NULL,   '{}', '{break}');

SELECT plan(4 * (SELECT count(*)::int FROM cases) + 2);

SELECT is((midi.parse_filename(name)).bpm, bpm, format('%s: bpm %s', name, coalesce(bpm::text, 'none'))) FROM cases;
SELECT is((midi.parse_filename(name)).key::text, key, format('%s: key %s', name, coalesce(key, 'none'))) FROM cases;
SELECT is((midi.parse_filename(name)).genres, genres, format('%s: genres %s', name, genres)) FROM cases;
SELECT is((midi.parse_filename(name)).structure, structure, format('%s: structure %s', name, structure)) FROM cases;

SELECT is((SELECT count(*)::int FROM cases), 46, 'the table holds at least 40 real-world names');
INSERT INTO midi.vocabulary (word, kind, label) VALUES ('amapiano', 'genre', 'amapiano');
SELECT is((midi.parse_filename('Amapiano Log Drum 112.mid')).genres, '{amapiano}',
          'a word added to midi.vocabulary is recognised without code changes');

SELECT * FROM finish();
ROLLBACK;
