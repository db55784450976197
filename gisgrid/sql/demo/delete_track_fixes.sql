-- The fixes of the given tracks.
DELETE FROM patrol_fix WHERE track_id = ANY(:ids)
