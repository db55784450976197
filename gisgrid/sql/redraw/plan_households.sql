-- Households of these villages with their current grid and whether any care tag applies.
SELECT h.id, g.code AS grid_code, ST_X(h.geom) AS x, ST_Y(h.geom) AS y,
       coalesce(cardinality(h.care_tags), 0) > 0 AS care
FROM household h JOIN grid g ON g.id = h.grid_id
WHERE g.valid_to IS NULL AND g.village_code = ANY(CAST(:villages AS text[]))
  AND h.geom IS NOT NULL
