-- The worker a case is reassigned to: on duty or not, and their grid nearest the case's village.
SELECT s.on_duty, g.code, a.role::text AS role
FROM staff s
JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL
JOIN grid g ON g.id = a.grid_id AND g.valid_to IS NULL
WHERE s.id = :s AND a.role IN ('full_time', 'grid_chief', 'part_time')
ORDER BY (g.village_code = :v) DESC LIMIT 1
