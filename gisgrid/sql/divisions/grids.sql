-- Current grids as GeoJSON-ready rows. Optional filters are bound as NULL when unused, so one
-- statement (and one plan shape) serves every combination. Household counts come from the
-- register itself, so they are never stale. Every row carries how many grids match; a page
-- past the end is one row of NULLs carrying that count alone.
WITH m AS (
    SELECT g.id, g.code, g.name, g.village_code, g.geom_generated, gen.name AS generation, g.geom
    FROM grid g
    JOIN generation gen ON gen.id = g.generation_id
    WHERE (CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN g.valid_to IS NULL
             ELSE g.valid_from <= CAST(:as_of AS timestamptz)
                  AND (g.valid_to IS NULL OR g.valid_to > CAST(:as_of AS timestamptz)) END)
      AND (CAST(:code AS text) IS NULL OR g.code = :code)
      AND (CAST(:prefix AS text) IS NULL OR g.village_code LIKE CAST(:prefix AS text) || '%')
      AND (CAST(:minx AS float8) IS NULL
           OR ST_Intersects(g.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)))
)
SELECT p.*, n.matched
FROM (SELECT count(*) AS matched FROM m) n
LEFT JOIN LATERAL (
    SELECT m.code, m.name, m.village_code, m.geom_generated, m.generation,
           (SELECT count(*) FROM household h WHERE h.grid_id = m.id) AS households,
           ST_AsGeoJSON(m.geom, 7)::json AS geometry
    FROM m
    ORDER BY m.code
    LIMIT :limit OFFSET :offset
) p ON true
ORDER BY p.code
