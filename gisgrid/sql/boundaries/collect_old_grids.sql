-- The county's current grids, which the redraw closes (scratch table, dropped at commit).
CREATE TEMP TABLE boundary_old_grid ON COMMIT DROP AS SELECT id FROM grid
WHERE valid_to IS NULL AND village_code LIKE :p
