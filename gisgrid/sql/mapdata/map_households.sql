-- Households of one grid (or a bbox) as points. No names, phones or ID numbers: those are
-- personal data for the grid's own workers only, and pages have no login yet.
SELECT h.id, h.address, h.size, h.care_tags, h.generated, g.code AS grid_code,
       ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
FROM household h
JOIN grid g ON g.id = h.grid_id
WHERE g.valid_to IS NULL
  AND g.village_code LIKE CAST(:prefix AS text) || '%'
  AND (CAST(:grid AS text) IS NULL OR g.code = CAST(:grid AS text))
  AND (CAST(:minx AS float8) IS NULL
       OR h.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))
ORDER BY h.id
LIMIT :limit
