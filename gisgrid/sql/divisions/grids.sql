-- Current grids as GeoJSON-ready rows. Optional filters are bound as NULL when unused, so one
-- statement (and one plan shape) serves every combination. Household counts come from the
-- register itself, so they are never stale.
SELECT g.code, g.name, g.village_code, g.geom_generated, gen.name AS generation,
       (SELECT count(*) FROM household h WHERE h.grid_id = g.id) AS households,
       ST_AsGeoJSON(g.geom, 7)::json AS geometry,
       count(*) OVER () AS matched
FROM grid g
JOIN generation gen ON gen.id = g.generation_id
WHERE (CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN g.valid_to IS NULL
         ELSE g.valid_from <= CAST(:as_of AS timestamptz)
              AND (g.valid_to IS NULL OR g.valid_to > CAST(:as_of AS timestamptz)) END)
  AND (CAST(:code AS text) IS NULL OR g.code = :code)
  AND (CAST(:prefix AS text) IS NULL OR g.village_code LIKE CAST(:prefix AS text) || '%')
  AND (CAST(:minx AS float8) IS NULL
       OR ST_Intersects(g.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)))
ORDER BY g.code
LIMIT :limit OFFSET :offset
