-- What a worker should visit next in their grid(s): key places and households with no fix
-- within reach since :since (households with care tags first, then the longest unvisited).
WITH g AS (
    SELECT gr.id, gr.geom FROM staff_assignment a JOIN grid gr ON gr.id = a.grid_id
    WHERE a.staff_id = :staff AND a.valid_to IS NULL AND gr.valid_to IS NULL
      AND a.role <> 'household_leader'
)
SELECT * FROM (
    SELECT 'key_place' AS kind, k.id, k.name AS label, ST_X(k.geom) AS lon, ST_Y(k.geom) AS lat,
           0 AS priority
    FROM key_place k JOIN g ON ST_Covers(g.geom, k.geom)
    WHERE NOT EXISTS (
        SELECT 1 FROM patrol_fix f
        WHERE f.geom && ST_Expand(k.geom, :dx * k.radius_m, :dy * k.radius_m)
          AND f.t >= :since AND f.t < :at
          AND ST_DWithin(f.geom::geography, k.geom::geography, k.radius_m))
    UNION ALL
    SELECT 'household', h.id, h.address, ST_X(h.geom), ST_Y(h.geom),
           CASE WHEN cardinality(h.care_tags) > 0 THEN 1 ELSE 2 END
    FROM household h JOIN g ON g.id = h.grid_id
    WHERE NOT EXISTS (
        SELECT 1 FROM patrol_fix f
        WHERE f.geom && ST_Expand(h.geom, :dx * 30, :dy * 30)
          AND f.t >= :since AND f.t < :at
          AND ST_DWithin(f.geom::geography, h.geom::geography, 30))
) t
ORDER BY priority, kind, id
LIMIT :limit
