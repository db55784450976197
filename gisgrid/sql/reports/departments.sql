-- A county's departments (职能部门) with their handlers and how many cases they hold, for the
-- department list and for resolving a department code in a step (吹哨) or a query.
SELECT d.id, d.code, d.name, d.categories, d.response_hours, d.feedback_hours, d.generated,
       coalesce(h.handlers, '[]'::jsonb) AS handlers,
       (SELECT count(*) FROM report r
        WHERE r.department_id = d.id AND r.duplicate_of IS NULL
          AND r.status NOT IN ('closed', 'cancelled')) AS open_cases
FROM department d
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object('username', a.username, 'display_name', a.display_name)
                     ORDER BY a.username) AS handlers
    FROM account a
    WHERE a.department_id = d.id AND a.active AND a.role = 'department_handler'
) h ON true
WHERE d.county_code = :county || '000000'
ORDER BY d.code
