-- The county's staff assignments.
DELETE FROM staff_assignment WHERE grid_id IN (SELECT id FROM gone_grid)
