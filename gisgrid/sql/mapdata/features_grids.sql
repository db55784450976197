-- Grid rows for OGC API Features. With no datetime only current grids; an instant or interval
-- selects every version valid at some time in it. NULL filters are unused.
SELECT g.id, g.code, g.name, g.village_code, gen.name AS generation, g.valid_from, g.valid_to,
       g.geom_generated, ST_AsGeoJSON(g.geom, 7)::json AS geometry,
       count(*) OVER () AS matched
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
ORDER BY g.code, g.valid_from
LIMIT :limit OFFSET :offset
