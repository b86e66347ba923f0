-- files.search_vector is kept by a trigger: filename words (A), manufacturer/collection (B), folder tags (C).
BEGIN;
SELECT plan(14);

INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, manufacturer, collection_name, folder_tags)
VALUES (1, 'DeepHouse_Bass_124bpm.mid', '/lib/Loopmasters/Deep/DeepHouse_Bass_124bpm.mid',
        decode(repeat('01', 32), 'hex'), 10, 'Loopmasters', 'Funky-Grooves Vol.2', '{sub bass,analog}');

SELECT is(midi.name_words('DeepHouse_Bass_124bpm.mid'), 'Deep House Bass 124bpm', 'name_words splits and strips');
SELECT is(midi.name_words('my-loop.v2.MIDI'), 'my loop v2', 'separators - . and the extension');
SELECT is(midi.name_words('HTMLParser') || '|' || midi.name_words('DnB_LoFi'), 'HTML Parser|DnB LoFi', 'acronym humps; short humps stay whole');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'deep') FROM midi.files WHERE id = 1), 'found by deep');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'house') FROM midi.files WHERE id = 1), 'found by house');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'bass') FROM midi.files WHERE id = 1), 'found by bass');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', '124bpm') FROM midi.files WHERE id = 1), 'found by 124bpm');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'deep <-> house') FROM midi.files WHERE id = 1), 'found by the phrase deep house');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'funky & grooves') FROM midi.files WHERE id = 1),
          'found by collection words');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'bass:A') FROM midi.files WHERE id = 1),
          'filename words carry weight A');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'loopmasters:B') FROM midi.files WHERE id = 1),
          'manufacturer carries weight B');
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'analog:C') FROM midi.files WHERE id = 1),
          'folder tags carry weight C');

UPDATE midi.files SET filename = 'Techno_Kick.mid' WHERE id = 1;
SELECT ok((SELECT search_vector @@ to_tsquery('midi.names', 'techno') AND NOT search_vector @@ to_tsquery('midi.names', 'house:A')
           FROM midi.files WHERE id = 1), 'an update of filename recomputes the vector');
SELECT ok((SELECT search_vector @@ plainto_tsquery('english', 'kick') FROM midi.files WHERE id = 1),
          'the seed documents'' english plainto_tsquery finds it too');

SELECT * FROM finish();
ROLLBACK;
