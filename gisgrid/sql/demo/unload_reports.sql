-- The county's reports: on its grids, or placed in its villages without a grid.
DELETE FROM report WHERE grid_id IN (SELECT id FROM gone_grid)
OR village_code LIKE :p
