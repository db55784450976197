-- Households of these villages: current grid, point and household group (ids only, no people).
SELECT h.id, g.code AS grid_code, ST_X(h.geom) AS x, ST_Y(h.geom) AS y, h.group_id
FROM household h JOIN grid g ON g.id = h.grid_id
WHERE g.valid_to IS NULL AND g.village_code = ANY(CAST(:villages AS text[]))
