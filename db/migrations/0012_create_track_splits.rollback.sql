-- Rollback of 0012_create_track_splits.
DROP TABLE midi.track_splits;
