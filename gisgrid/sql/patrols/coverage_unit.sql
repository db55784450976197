-- The unit to measure: a current grid (15 digits) or a county/town/village (12 digits).
SELECT code, name, level, ST_AsEWKB(geom) AS ewkb, ST_YMax(geom) AS ymax, ST_YMin(geom) AS ymin,
       ST_X(ST_Centroid(geom)) AS cx, ST_Y(ST_Centroid(geom)) AS cy
FROM (
    SELECT g.code::text AS code, g.name, 'grid' AS level, g.geom
    FROM grid g WHERE g.valid_to IS NULL AND g.code = :code
    UNION ALL
    SELECT a.code::text, a.name, a.level::text, a.geom FROM admin_unit a WHERE a.code = :code
) u
LIMIT 1
