-- Who takes a report in a grid: the on-duty full-time worker (专职网格员) with the fewest open
-- cases, else the on-duty grid chief (网格长); lowest staff id on a tie. Duplicates are handled
-- with their original, so they add no load.
SELECT s.id, s.name, a.role::text AS role,
       (SELECT count(*) FROM report r
        WHERE r.assignee_id = s.id AND r.duplicate_of IS NULL
          AND r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')) AS open_cases
FROM staff_assignment a
JOIN staff s ON s.id = a.staff_id
WHERE a.grid_id = :grid_id AND a.valid_to IS NULL AND s.on_duty
  AND a.role IN ('full_time', 'grid_chief')
ORDER BY a.role = 'grid_chief', open_cases, s.id
LIMIT 1
