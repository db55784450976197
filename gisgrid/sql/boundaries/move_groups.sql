-- A household group (联户) follows most of its households (already moved); a group with none
-- follows its old grid's successor.
WITH moving AS (
  SELECT id, grid_id FROM household_group WHERE grid_id IN (SELECT id FROM boundary_old_grid)
), votes AS (
  SELECT DISTINCT ON (h.group_id) h.group_id, h.grid_id AS new_id
  FROM household h
  JOIN grid g ON g.id = h.grid_id AND g.generation_id = :gen
  WHERE h.group_id IN (SELECT id FROM moving)
  GROUP BY h.group_id, h.grid_id
  ORDER BY h.group_id, count(*) DESC, h.grid_id
)
UPDATE household_group hg
SET grid_id = COALESCE(v.new_id, s.new_id)
FROM moving m
LEFT JOIN votes v ON v.group_id = m.id
LEFT JOIN boundary_successor s ON s.old_id = m.grid_id
WHERE hg.id = m.id AND COALESCE(v.new_id, s.new_id) IS NOT NULL
