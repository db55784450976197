-- The case a step acts on, locked until the step is stored.
SELECT r.id, r.status::text AS status, r.duplicate_of, r.handler_level, r.assignee_id,
       g.code AS grid_code, g.village_code
FROM report r LEFT JOIN grid g ON g.id = r.grid_id
WHERE r.id = :id
FOR UPDATE OF r
