-- Rollback of 0011_create_track_splits.
DROP TABLE midi.track_splits;
