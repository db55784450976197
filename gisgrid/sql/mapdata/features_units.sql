-- Administrative units for OGC API Features, optionally one level or one code. Every row carries
-- how many rows match; a page past the end is one row of NULLs carrying that count alone.
WITH m AS (
    SELECT u.code, u.name, u.level::text AS level, u.parent_code, u.urban_rural,
           u.geom_generated, u.geom
    FROM admin_unit u
    WHERE (CAST(:code AS text) IS NULL OR u.code = CAST(:code AS text))
      AND (CAST(:level AS text) IS NULL OR u.level::text = CAST(:level AS text))
      AND (CAST(:minx AS float8) IS NULL
           OR ST_Intersects(u.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)))
)
SELECT p.*, n.matched
FROM (SELECT count(*) AS matched FROM m) n
LEFT JOIN LATERAL (
    SELECT m.code, m.name, m.level, m.parent_code, m.urban_rural, m.geom_generated,
           ST_AsGeoJSON(m.geom, 7)::json AS geometry
    FROM m
    ORDER BY m.code
    LIMIT :limit OFFSET :offset
) p ON true
ORDER BY p.code
