-- Households on closed grids go to the new grid covering their point (through the subdivided
-- parts; lowest code on a shared edge, as locate does). Without a point, or outside every new
-- grid, they go to the new grid that took the largest share of their old one.
WITH moving AS (
  SELECT h.id, h.grid_id, h.geom FROM household h
  WHERE h.grid_id IN (SELECT id FROM boundary_old_grid)
), by_point AS (
  -- LATERAL keeps the plan one index probe per point whatever the fresh rows' statistics say.
  SELECT m.id, hit.new_id
  FROM moving m
  CROSS JOIN LATERAL (
    SELECT g.id AS new_id FROM grid_part p
    JOIN grid g ON g.id = p.grid_id AND g.generation_id = :gen
    WHERE ST_Covers(p.geom, m.geom)
    ORDER BY g.code LIMIT 1
  ) hit
)
UPDATE household h
SET grid_id = COALESCE(b.new_id, s.new_id)
FROM moving m
LEFT JOIN by_point b ON b.id = m.id
LEFT JOIN boundary_successor s ON s.old_id = m.grid_id
WHERE h.id = m.id AND COALESCE(b.new_id, s.new_id) IS NOT NULL
RETURNING (b.new_id IS NOT NULL) AS by_point
