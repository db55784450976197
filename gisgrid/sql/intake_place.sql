-- Grids of the current generation that cover a report's point (edges included) or lie within
-- :tol_m metres of it. Metres via geography; the && prefilter in degrees (:tol_deg, generous)
-- keeps the search on the GiST index. Covering grids first, then by distance, then by code, so
-- the first row is the deterministic choice.
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)
SELECT x.id, x.code, x.name, x.village_code, x.covers, x.distance_m
FROM (
    SELECT g.id, g.code, g.name, g.village_code, ST_Covers(g.geom, p.g) AS covers,
           ST_Distance(g.geom::geography, p.g::geography) AS distance_m
    FROM grid g, p
    WHERE g.valid_to IS NULL AND g.geom && ST_Expand(p.g, :tol_deg)
) x
WHERE x.covers OR x.distance_m <= :tol_m
ORDER BY NOT x.covers, x.distance_m, x.code
