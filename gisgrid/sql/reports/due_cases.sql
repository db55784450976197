-- The cases that fell due in [:start, :end) under one grid-code prefix, one row each, with what
-- the scores need (closed, on time, closing code, verdict, reopenings, the department's clock):
-- gisgrid/reports/scores.py counts and groups them (unit, grid, worker, department) and turns
-- dispatch-to-close into working hours with the county's calendar. Every generation's grids
-- count (a closed report stays on the grid that handled it); supporters (duplicates) and
-- cancelled reports were never cases of their own.
SELECT r.id, g.code AS grid_code, g.name AS grid_name, r.category, r.triage, r.generated,
       r.assignee_id, s.name AS staff_name, a.role AS staff_role,
       r.department_id, d.code AS department_code, d.name AS department_name,
       r.status::text AS status, r.dispatched_at, r.due_at, r.closed_at,
       r.outcome, r.satisfied, r.reopens, r.escalations,
       r.dept_sent_at, r.dept_respond_by, r.dept_accepted_at, r.dept_due_at, r.dept_resolved_at
FROM report r
JOIN grid g ON g.id = r.grid_id
LEFT JOIN staff s ON s.id = r.assignee_id
LEFT JOIN department d ON d.id = r.department_id
LEFT JOIN LATERAL (
    SELECT sa.role::text AS role FROM staff_assignment sa
    WHERE sa.staff_id = r.assignee_id AND sa.grid_id = r.grid_id
    ORDER BY sa.valid_to IS NULL DESC, sa.id DESC LIMIT 1
) a ON true
WHERE g.code LIKE :prefix || '%'
  AND r.due_at >= :start AND r.due_at < :end
  AND r.duplicate_of IS NULL AND r.status <> 'cancelled'
ORDER BY r.id
