-- The units directly under a unit (towns of a county, villages of a town), each with its
-- box, for the wall's filter: choosing one flies the map there.
SELECT a.code, a.name, a.level::text AS level,
       ST_XMin(a.geom) AS minx, ST_YMin(a.geom) AS miny,
       ST_XMax(a.geom) AS maxx, ST_YMax(a.geom) AS maxy
FROM admin_unit a
WHERE a.parent_code = :code AND a.geom IS NOT NULL
ORDER BY a.code
