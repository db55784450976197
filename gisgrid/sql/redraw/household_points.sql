-- Household points of these villages (settlement clusters are cut around them).
SELECT g.village_code, ST_X(h.geom) AS x, ST_Y(h.geom) AS y
FROM household h JOIN grid g ON g.id = h.grid_id
WHERE g.valid_to IS NULL AND g.village_code = ANY(CAST(:villages AS text[]))
  AND h.geom IS NOT NULL
