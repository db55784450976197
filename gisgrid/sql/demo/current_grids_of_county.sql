-- The county's current grids with their WKB, for walks on their roads.
SELECT id, village_code, ST_AsBinary(geom) AS wkb FROM grid
WHERE valid_to IS NULL AND village_code LIKE :p ORDER BY id
