-- How many grid rows mapdata/features_grids.sql matches, for a page past the end (no row
-- carries the window count); the same FROM and WHERE, which tests/test_sql.py holds equal.
SELECT count(*)
FROM grid g
JOIN generation gen ON gen.id = g.generation_id
WHERE (CAST(:id AS integer) IS NULL OR g.id = CAST(:id AS integer))
  AND (CAST(:code AS text) IS NULL OR g.code = CAST(:code AS text))
  AND (CAST(:minx AS float8) IS NULL
       OR ST_Intersects(g.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)))
  AND CASE
        WHEN :current THEN g.valid_to IS NULL
        ELSE (CAST(:end AS timestamptz) IS NULL OR g.valid_from <= CAST(:end AS timestamptz))
             AND (CAST(:start AS timestamptz) IS NULL OR g.valid_to IS NULL
                  OR g.valid_to > CAST(:start AS timestamptz))
      END
