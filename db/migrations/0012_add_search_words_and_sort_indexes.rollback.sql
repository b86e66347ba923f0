-- Rollback of 0012_add_search_words_and_sort_indexes: the sort indexes go, idx_files_key_bpm gets its 0006
-- definition back, and the word statistics go (the searches then ask the planner, as before).
DROP INDEX midi.idx_files_duration_id;
DROP INDEX midi.idx_files_key_duration;
DROP INDEX midi.idx_files_key_bpm;
CREATE INDEX idx_files_key_bpm ON midi.files (cached_key, cached_bpm)
    INCLUDE (cached_category, manufacturer, collection_name, tag_ids);
DROP TABLE midi.search_word_sample;
ALTER TYPE midi._search_args DROP ATTRIBUTE name_rows;
DROP TABLE midi.search_words;
