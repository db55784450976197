-- Current grids (optionally one county's) with their WKB, for the in-memory point index.
SELECT id, code, ST_AsBinary(geom) AS wkb FROM grid WHERE valid_to IS NULL
AND (CAST(:c AS text) IS NULL OR code LIKE CAST(:c AS text) || '%') ORDER BY code
