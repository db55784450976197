-- The grids of one generation in these villages.
SELECT id, code, name, village_code, ST_AsBinary(geom) AS wkb FROM grid
WHERE generation_id = :generation_id AND village_code = ANY(CAST(:villages AS text[]))
ORDER BY code
