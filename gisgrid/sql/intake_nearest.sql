-- 属地兜底: a point inside a served county that no grid covers goes to the nearest grid of that
-- county. KNN (<->) in degrees finds a short list on the index; metres (geography) decide.
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
county AS (
    SELECT c.code FROM admin_unit c, p
    WHERE c.level = 'county' AND ST_Covers(c.geom, p.g)
    ORDER BY c.code LIMIT 1
),
near AS (
    SELECT g.id, g.code, g.name, g.village_code, g.geom
    FROM grid g, p, county
    WHERE g.valid_to IS NULL AND g.village_code LIKE left(county.code, 6) || '%'
    ORDER BY g.geom <-> p.g
    LIMIT 8
)
SELECT n.id, n.code, n.name, n.village_code, false AS covers,
       ST_Distance(n.geom::geography, p.g::geography) AS distance_m
FROM near n, p
ORDER BY distance_m, n.code
