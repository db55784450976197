-- Grid rows for OGC API Features. With no datetime only current grids; an instant or interval
-- selects every version valid at some time in it. NULL filters are unused. Every row carries
-- how many rows match; a page past the end is one row of NULLs carrying that count alone.
WITH m AS (
    SELECT g.id, g.code, g.name, g.village_code, gen.name AS generation, g.valid_from,
           g.valid_to, g.geom_generated, g.geom
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
)
SELECT p.*, n.matched
FROM (SELECT count(*) AS matched FROM m) n
LEFT JOIN LATERAL (
    SELECT m.id, m.code, m.name, m.village_code, m.generation, m.valid_from, m.valid_to,
           m.geom_generated, ST_AsGeoJSON(m.geom, 7)::json AS geometry
    FROM m
    ORDER BY m.code, m.valid_from
    LIMIT :limit OFFSET :offset
) p ON true
ORDER BY p.code, p.valid_from
