-- Grids of a named generation, or valid at :as_of, or current; NULL filters are unused.
SELECT g.code, g.name, g.village_code, gen.name AS generation, g.valid_from, g.valid_to,
       g.geom_generated, ST_AsBinary(g.geom) AS wkb
FROM grid g
JOIN generation gen ON gen.id = g.generation_id
WHERE (CAST(:prefix AS text) IS NULL OR g.village_code LIKE CAST(:prefix AS text) || '%')
  AND CASE
        WHEN CAST(:generation AS text) IS NOT NULL THEN gen.name = CAST(:generation AS text)
        WHEN CAST(:as_of AS timestamptz) IS NOT NULL THEN
             g.valid_from <= CAST(:as_of AS timestamptz)
             AND (g.valid_to IS NULL OR g.valid_to > CAST(:as_of AS timestamptz))
        ELSE g.valid_to IS NULL
      END
ORDER BY g.code
