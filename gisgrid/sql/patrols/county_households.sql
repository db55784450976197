-- The county's households on current grids, as points to lay a generated road network over.
SELECT h.grid_id, g.village_code, ST_X(h.geom) AS x, ST_Y(h.geom) AS y
FROM household h JOIN grid g ON g.id = h.grid_id
WHERE g.valid_to IS NULL AND g.village_code LIKE :p
ORDER BY h.id
