-- A bulletin map's frame: the unit's outline, simplified for print, and its bounding box.
SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6)::json AS geometry,
       ST_XMin(geom) AS minx, ST_YMin(geom) AS miny, ST_XMax(geom) AS maxx, ST_YMax(geom) AS maxy
FROM admin_unit WHERE code = :code
