-- midi.parse_path derives manufacturer, collection and folder tags from a path relative to the import root.
BEGIN;
SELECT plan(12);
SELECT is((midi.parse_path('Loopmasters/Deep House Essentials/Bass/Sub Bass/x_124.mid')).manufacturer, 'Loopmasters',
          'first folder is the manufacturer');
SELECT is((midi.parse_path('Loopmasters/Deep House Essentials/Bass/Sub Bass/x_124.mid')).collection_name,
          'Deep House Essentials', 'second folder is the collection');
SELECT is((midi.parse_path('Loopmasters/Deep House Essentials/Bass/Sub Bass/x_124.mid')).folder_tags, '{bass,sub}',
          'deeper folders give their words once, lower case, in order');
SELECT is((midi.parse_path('Loopmasters/Deep House Essentials/Bass/Sub Bass/x_124.mid')).filename, 'x_124.mid',
          'the file name');
SELECT is((midi.parse_path('pack.zip!Drums/Kicks/k.mid')).manufacturer, 'pack', 'a zip archive counts as a folder');
SELECT is((midi.parse_path('pack.zip!Drums/Kicks/k.mid')).collection_name, 'Drums', 'folders inside the archive follow');
SELECT is((midi.parse_path('pack.zip!Drums/Kicks/k.mid')).folder_tags, '{kicks}', 'and give folder tags');
SELECT is((midi.parse_path('a.zip!b.zip!c.mid')).collection_name, 'b', 'nested archives too');
SELECT is((midi.parse_path('x.mid')).manufacturer, NULL, 'a file at the root has no manufacturer');
SELECT is((midi.parse_path('Vendor/x.mid')).collection_name, NULL, 'one folder: manufacturer only');
SELECT is((midi.parse_path('V/C/DrumLoops_HipHop/x.mid')).folder_tags, '{drum,loops,hip,hop}',
          'camelCase folder names give their words');
SELECT is((midi.parse_path('V/C/Café Ñandú/x.mid')).folder_tags, '{café,ñandú}', 'non-ASCII words survive');
SELECT * FROM finish();
ROLLBACK;
