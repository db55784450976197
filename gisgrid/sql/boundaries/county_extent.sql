-- The loaded county a file's codes point at: its name, centroid and box, to check the file against.
SELECT code, name, ST_X(ST_Centroid(geom)) AS lon, ST_Y(ST_Centroid(geom)) AS lat,
       ST_XMin(geom) AS minx, ST_YMin(geom) AS miny, ST_XMax(geom) AS maxx, ST_YMax(geom) AS maxy
FROM admin_unit
WHERE code = :c AND level = 'county'
