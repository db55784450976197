-- Scratch table for a batch of fixes, filled by COPY.
CREATE TEMP TABLE IF NOT EXISTS fix_in (track_id int, staff_id int,
t timestamptz, accuracy_m float8, lon float8, lat float8) ON COMMIT DROP
