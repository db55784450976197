-- How many units mapdata/features_units.sql matches, for a page past the end (no row carries
-- the window count); the same FROM and WHERE, which tests/test_sql.py holds equal.
SELECT count(*)
FROM admin_unit u
WHERE (CAST(:code AS text) IS NULL OR u.code = CAST(:code AS text))
  AND (CAST(:level AS text) IS NULL OR u.level::text = CAST(:level AS text))
  AND (CAST(:minx AS float8) IS NULL
       OR ST_Intersects(u.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)))
