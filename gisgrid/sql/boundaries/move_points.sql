-- Households and open reports on closed grids go to the new grid covering their point (through
-- the subdivided parts; lowest code on a shared edge, as locate does); closed reports stay where
-- they were handled. Without a point, or outside every new grid, they go to the new grid that
-- took the largest share of their old one. One statement: the same rule for both tables.
WITH moving AS (
  SELECT 'household' AS kind, id, grid_id, geom FROM household
  WHERE grid_id IN (SELECT id FROM boundary_old_grid)
  UNION ALL
  SELECT 'report', id, grid_id, geom FROM report
  WHERE grid_id IN (SELECT id FROM boundary_old_grid) AND status NOT IN ('closed', 'cancelled')
), target AS (
  SELECT m.kind, m.id, COALESCE(hit.new_id, s.new_id) AS new_id, hit.new_id IS NOT NULL AS by_point
  FROM moving m
  -- LATERAL keeps the plan one index probe per point whatever the fresh rows' statistics say.
  LEFT JOIN LATERAL (
    SELECT g.id AS new_id FROM grid_part p
    JOIN grid g ON g.id = p.grid_id AND g.generation_id = :gen
    WHERE ST_Covers(p.geom, m.geom)
    ORDER BY g.code LIMIT 1
  ) hit ON true
  LEFT JOIN boundary_successor s ON s.old_id = m.grid_id
), households AS (
  UPDATE household h SET grid_id = t.new_id FROM target t
  WHERE t.kind = 'household' AND h.id = t.id AND t.new_id IS NOT NULL
  RETURNING t.by_point
), reports AS (
  UPDATE report r SET grid_id = t.new_id FROM target t
  WHERE t.kind = 'report' AND r.id = t.id AND t.new_id IS NOT NULL
  RETURNING t.by_point
)
SELECT 'household' AS kind, by_point FROM households
UNION ALL
SELECT 'report', by_point FROM reports
