-- The counties (6-digit codes) with current grids under a code prefix: the partitions of a
-- bulk job that reads PostGIS (the sharded plan's distribution key, docs/scale.md).
SELECT DISTINCT left(code, 6) AS county FROM grid
WHERE valid_to IS NULL AND code LIKE :prefix || '%'
ORDER BY 1
