-- Patrols (issue 6): fixes of the county's staff, and of tracks on its grids or by its staff.
DELETE FROM patrol_fix
WHERE staff_id IN (SELECT id FROM gone_staff)
   OR track_id IN (SELECT id FROM patrol_track
                   WHERE grid_id IN (SELECT id FROM gone_grid)
                      OR staff_id IN (SELECT id FROM gone_staff))
