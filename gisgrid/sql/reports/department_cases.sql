-- The cases whistled to one department (its inbox), inside the caller's scope (a grid-code
-- prefix; '' = everywhere): the ones waiting to be accepted (报到) first, then by feedback limit.
SELECT v.* FROM report_view v
WHERE v.department_id = :department
  AND v.grid_code LIKE :scope || '%'
  AND v.duplicate_of IS NULL
  AND (NOT :open_only OR v.status NOT IN ('closed', 'cancelled'))
ORDER BY (v.dept_accepted_at IS NULL) DESC, v.dept_due_at, v.id
LIMIT :limit
