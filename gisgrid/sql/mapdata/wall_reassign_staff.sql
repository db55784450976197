-- Who could take a case over (改派): grid workers on duty in the case's village and scope,
-- those of the case's own grid first, then those with the fewest open cases. The step itself
-- checks again (cases.act); this is the list an operator picks from.
SELECT s.id, s.name, a.role::text AS role, g.code AS grid_code, g.name AS grid_name,
       (g.id = r.grid_id) AS same_grid,
       (SELECT count(*) FROM report o
        WHERE o.assignee_id = s.id
          AND o.status IN ('dispatched', 'in_progress'))::int AS open_cases
FROM report r
JOIN grid rg ON rg.id = r.grid_id
JOIN grid g ON g.village_code = rg.village_code AND g.valid_to IS NULL
JOIN staff_assignment a ON a.grid_id = g.id AND a.valid_to IS NULL
JOIN staff s ON s.id = a.staff_id
WHERE r.id = :report
  AND s.on_duty
  AND a.role IN ('full_time', 'grid_chief', 'part_time')
  AND g.code LIKE CAST(:scope AS text) || '%'
  AND s.id IS DISTINCT FROM r.assignee_id
ORDER BY same_grid DESC, open_cases, s.name
LIMIT 30
