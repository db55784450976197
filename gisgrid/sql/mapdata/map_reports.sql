-- Open reports (not resolved, closed or cancelled) of a unit or one grid, newest first, with
-- the overdue flag computed by the database clock so every client agrees on it. Due soon
-- (临期): not late yet but in the last quarter of the span from dispatch to the limit (calendar
-- time, an early warning rather than a rule). Supervised: how often the center chased it (督办).
SELECT r.id, r.category, r.status::text AS status, r.source, r.generated,
       r.reported_at, r.due_at, (r.due_at < now()) AS overdue,
       (r.due_at >= now() AND r.due_at - now() < (r.due_at - r.dispatched_at) / 4) AS due_soon,
       (SELECT count(*) FROM report_event e
        WHERE e.report_id = r.id AND e.action = 'supervise')::int AS supervised,
       extract(epoch FROM now() - r.due_at)::float8 / 3600 AS hours_overdue,
       g.code AS grid_code, g.name AS grid_name,
       ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat
FROM report r
JOIN grid g ON g.id = r.grid_id
WHERE r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')
  AND g.village_code LIKE CAST(:prefix AS text) || '%'
  AND (CAST(:grid AS text) IS NULL OR g.code = CAST(:grid AS text))
  AND (NOT CAST(:overdue_only AS boolean) OR r.due_at < now())
ORDER BY CASE WHEN CAST(:overdue_only AS boolean) THEN r.due_at END ASC NULLS LAST,
         r.reported_at DESC, r.id DESC
LIMIT :limit
