-- The county's grids, every generation (scratch table, dropped at commit).
CREATE TEMP TABLE gone_grid ON COMMIT DROP AS
SELECT id FROM grid WHERE village_code LIKE :p
