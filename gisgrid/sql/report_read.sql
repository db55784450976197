-- Reports as the intake answer and Open311 show them: grid, village, handler and, for a duplicate,
-- the original's status (a supporter's request stays open until the original is closed).
-- Every filter is optional (NULL = no filter); service_request_id ignores the date window.
SELECT r.id, r.category, r.description, r.status::text AS status, r.source,
       r.reported_at, r.updated_at, r.dispatched_at, r.due_at, r.closed_at,
       r.address, r.media_url, r.attributes, r.input_point, r.generated,
       ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
       r.grid_candidates, r.fallback, r.handler_level, r.duplicate_of,
       g.code AS grid_code, g.name AS grid_name,
       v.code AS village_code, v.name AS village_name,
       s.id AS staff_id, s.name AS staff_name, s.role::text AS staff_role,
       coalesce(o.status, r.status)::text AS effective_status,
       (SELECT count(*) FROM report d WHERE d.duplicate_of = r.id) AS supporters
FROM report r
LEFT JOIN grid g ON g.id = r.grid_id
LEFT JOIN admin_unit v ON v.code = coalesce(r.village_code, g.village_code)
LEFT JOIN staff s ON s.id = r.assignee_id
LEFT JOIN report o ON o.id = r.duplicate_of
WHERE (CAST(:ids AS bigint[]) IS NULL OR r.id = ANY(CAST(:ids AS bigint[])))
  AND (CAST(:codes AS text[]) IS NULL OR r.category = ANY(CAST(:codes AS text[])))
  AND r.reported_at >= CAST(:start AS timestamptz)
  AND r.reported_at < CAST(:end AS timestamptz)
  AND (CAST(:closed AS boolean) IS NULL
       OR (coalesce(o.status, r.status) IN ('closed', 'cancelled')) = CAST(:closed AS boolean))
ORDER BY r.reported_at DESC, r.id DESC
LIMIT :limit
