-- The first open, non-duplicate report of the same service within :radius_m metres and the
-- last :window_h hours: a new report near it is a supporter, not a second case.
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)
SELECT r.id, r.assignee_id, r.grid_id, r.handler_level
FROM report r, p
WHERE r.category = :category
  AND r.duplicate_of IS NULL
  AND r.status NOT IN ('closed', 'cancelled')
  AND r.reported_at >= :now - make_interval(secs => :window_h * 3600)
  AND r.geom && ST_Expand(p.g, :radius_deg)
  AND ST_DWithin(r.geom::geography, p.g::geography, :radius_m)
ORDER BY r.reported_at, r.id
LIMIT 1
