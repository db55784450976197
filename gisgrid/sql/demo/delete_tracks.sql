-- The given tracks (their fixes are gone first).
DELETE FROM patrol_track WHERE id = ANY(:ids)
