-- Staff with an assignment on one of those grids (scratch table, dropped at commit).
CREATE TEMP TABLE gone_staff ON COMMIT DROP AS SELECT DISTINCT staff_id AS id
FROM staff_assignment WHERE grid_id IN (SELECT id FROM gone_grid)
