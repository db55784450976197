-- The full-time and part-time workers of some grids, lowest id first, for generated cases.
SELECT a.grid_id, a.staff_id, a.role::text AS role
FROM staff_assignment a
WHERE a.grid_id = ANY(CAST(:grids AS int[])) AND a.valid_to IS NULL
  AND a.role IN ('full_time', 'part_time')
ORDER BY a.grid_id, a.staff_id
