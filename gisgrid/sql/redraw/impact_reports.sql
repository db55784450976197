-- Open reports (not closed, not cancelled) of these villages: current grid and point, if any.
SELECT r.id, g.code AS grid_code, ST_X(r.geom) AS x, ST_Y(r.geom) AS y
FROM report r JOIN grid g ON g.id = r.grid_id
WHERE g.valid_to IS NULL AND g.village_code = ANY(CAST(:villages AS text[]))
  AND r.status NOT IN ('closed', 'cancelled')
