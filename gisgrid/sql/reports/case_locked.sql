-- A case as a step finds it, locked (FOR UPDATE) so two people cannot both act on the same state:
-- everything a step reads and may change, with its grid, county and department's code.
SELECT r.id, r.status::text AS status, r.duplicate_of, r.handler_level, r.assignee_id,
       r.grid_id, g.code AS grid_code, g.village_code, r.category, r.source,
       r.dispatched_at, r.due_at, r.closed_at, r.satisfied, r.escalations, r.updated_at,
       r.triage, r.triage_reason, r.stage, r.stage_due_at,
       r.department_id, d.code AS department_code,
       r.dept_sent_at, r.dept_respond_by, r.dept_accepted_at, r.dept_due_at, r.dept_resolved_at,
       r.outcome, r.outcome_reason, r.reopens, r.group_id
FROM report r
LEFT JOIN grid g ON g.id = r.grid_id
LEFT JOIN department d ON d.id = r.department_id
WHERE r.id = :id
FOR UPDATE OF r
