-- In these villages: grids of the draft's base generation that are gone or reshaped now, and
-- grid codes that are new since.
SELECT
  (SELECT array_agg(b.code ORDER BY b.code) FROM grid b
   WHERE b.generation_id = :base AND b.village_code = ANY(CAST(:villages AS text[]))
     AND NOT EXISTS (SELECT 1 FROM grid n WHERE n.valid_to IS NULL AND n.code = b.code
                     AND ST_Equals(n.geom, b.geom))) AS changed,
  (SELECT array_agg(n.code ORDER BY n.code) FROM grid n
   WHERE n.valid_to IS NULL AND n.village_code = ANY(CAST(:villages AS text[]))
     AND NOT EXISTS (SELECT 1 FROM grid b WHERE b.generation_id = :base AND b.code = n.code))
    AS added
