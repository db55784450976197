-- A case by its number: where it is and which grid holds it (the caller decides which of the
-- two points it may see: the exact spot for case handlers in scope, else the grid's).
SELECT r.id, r.category, r.status::text AS status, r.duplicate_of,
       g.code AS grid_code, g.name AS grid_name,
       ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
       ST_X(ST_PointOnSurface(g.geom)) AS grid_lon, ST_Y(ST_PointOnSurface(g.geom)) AS grid_lat
FROM report r LEFT JOIN grid g ON g.id = r.grid_id
WHERE r.id = :id
