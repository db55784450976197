-- On-duty full-time workers of the county's current grids with no real track that day.
SELECT s.id, a.grid_id
FROM staff s
JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL
JOIN grid g ON g.id = a.grid_id AND g.valid_to IS NULL
WHERE a.role = 'full_time' AND s.on_duty AND g.village_code LIKE :p
  AND NOT EXISTS (SELECT 1 FROM patrol_track tr
                  WHERE tr.staff_id = s.id AND tr.day = :d AND NOT tr.generated)
ORDER BY s.id
