-- The shapes a monthly bulletin's map colours: the units directly under a unit (a village's
-- current grids), simplified for a printed page, each with a point inside it for its label.
SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6)::json AS geometry,
       ST_X(ST_PointOnSurface(geom)) AS label_lon, ST_Y(ST_PointOnSurface(geom)) AS label_lat
FROM admin_unit WHERE parent_code = :code
UNION ALL
SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6)::json,
       ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
FROM grid WHERE village_code = :code AND valid_to IS NULL
ORDER BY code
