-- The county's households.
DELETE FROM household WHERE grid_id IN (SELECT id FROM gone_grid)
