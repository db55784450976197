-- Administrative units for OGC API Features, optionally one level or one code.
SELECT u.code, u.name, u.level::text AS level, u.parent_code, u.urban_rural, u.geom_generated,
       ST_AsGeoJSON(u.geom, 7)::json AS geometry, count(*) OVER () AS matched
FROM admin_unit u
WHERE (CAST(:code AS text) IS NULL OR u.code = CAST(:code AS text))
  AND (CAST(:level AS text) IS NULL OR u.level::text = CAST(:level AS text))
  AND (CAST(:minx AS float8) IS NULL
       OR ST_Intersects(u.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)))
ORDER BY u.code
LIMIT :limit OFFSET :offset
