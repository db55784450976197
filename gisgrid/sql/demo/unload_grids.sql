-- The county's grids, every generation.
DELETE FROM grid WHERE id IN (SELECT id FROM gone_grid)
