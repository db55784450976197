-- Exactly once: a fix already stored for that staff member and instant is skipped.
INSERT INTO patrol_fix (track_id, staff_id, t, accuracy_m, geom)
SELECT track_id, staff_id, t, accuracy_m, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM fix_in
ORDER BY staff_id, t
ON CONFLICT DO NOTHING
