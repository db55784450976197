-- On-duty full-time and part-time workers and household leaders of the county's current grids
-- with no real track that day (they patrol in the generated day at their own shares).
SELECT s.id, a.grid_id, a.role::text AS role
FROM staff s
JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL
JOIN grid g ON g.id = a.grid_id AND g.valid_to IS NULL
WHERE a.role IN ('full_time', 'part_time', 'household_leader')
  AND s.on_duty AND g.village_code LIKE :p
  AND NOT EXISTS (SELECT 1 FROM patrol_track tr
                  WHERE tr.staff_id = s.id AND tr.day = :d AND NOT tr.generated)
ORDER BY s.id
