-- The county's household groups.
DELETE FROM household_group WHERE grid_id IN (SELECT id FROM gone_grid)
