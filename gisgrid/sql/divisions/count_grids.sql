-- How many grids divisions/grids.sql matches, for a page past the end (no row carries the
-- window count); the same FROM and WHERE, which tests/test_sql.py holds equal.
SELECT count(*)
FROM grid g
JOIN generation gen ON gen.id = g.generation_id
WHERE (CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN g.valid_to IS NULL
         ELSE g.valid_from <= CAST(:as_of AS timestamptz)
              AND (g.valid_to IS NULL OR g.valid_to > CAST(:as_of AS timestamptz)) END)
  AND (CAST(:code AS text) IS NULL OR g.code = :code)
  AND (CAST(:prefix AS text) IS NULL OR g.village_code LIKE CAST(:prefix AS text) || '%')
  AND (CAST(:minx AS float8) IS NULL
       OR ST_Intersects(g.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)))
