-- Reports as the intake answer and Open311 show them: grid, village, handler and, for a duplicate,
-- the original's status (a supporter's request stays open until the original is closed).
-- gisgrid.intake appends the WHERE: by id (index on the key), or the Open311 list filters.
SELECT r.id, r.category, r.description, r.status::text AS status, r.source,
       r.reported_at, r.updated_at, r.dispatched_at, r.due_at, r.closed_at,
       r.address, r.media_url, r.attributes, r.input_point, r.generated,
       ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
       ST_X(ST_PointOnSurface(g.geom)) AS grid_lon, ST_Y(ST_PointOnSurface(g.geom)) AS grid_lat,
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
