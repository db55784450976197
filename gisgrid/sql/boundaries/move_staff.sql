-- Open staff assignments on closed grids end at the redraw and start again on a new grid:
-- household leaders (联户长) on their group's grid, grid staff on their old grid's successor
-- (for a merge, every old grid's staff meet on the merged grid).
WITH ended AS (
  UPDATE staff_assignment a SET valid_to = :valid_from
  WHERE a.valid_to IS NULL AND a.grid_id IN (SELECT id FROM boundary_old_grid)
  RETURNING a.staff_id, a.grid_id, a.role
), leads AS (
  -- One hashed pass over every group, not a probe per leader.
  SELECT DISTINCT ON (leader_id) leader_id, grid_id FROM household_group
  WHERE leader_id IS NOT NULL
  ORDER BY leader_id, id
)
INSERT INTO staff_assignment (staff_id, grid_id, role, valid_from)
SELECT e.staff_id,
       COALESCE(CASE WHEN e.role = 'household_leader' THEN l.grid_id END, s.new_id),
       e.role, :valid_from
FROM ended e
LEFT JOIN boundary_successor s ON s.old_id = e.grid_id
LEFT JOIN leads l ON l.leader_id = e.staff_id
WHERE COALESCE(CASE WHEN e.role = 'household_leader' THEN l.grid_id END, s.new_id) IS NOT NULL
