-- Tracks on the county's grids or by its staff (their fixes are gone first).
DELETE FROM patrol_track WHERE grid_id IN (SELECT id FROM gone_grid)
OR staff_id IN (SELECT id FROM gone_staff)
