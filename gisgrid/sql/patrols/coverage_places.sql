-- Key places in the unit: visits are fixes within each place's radius; dwell adds up the time
-- between consecutive such fixes of one track, gaps longer than :max_gap seconds excluded.
WITH u AS (SELECT ST_GeomFromEWKB(:ugeom) AS g),
kp AS (
    SELECT k.* FROM key_place k, u WHERE k.geom && u.g AND ST_Covers(u.g, k.geom)
),
near AS (
    SELECT kp.id, f.staff_id, f.t,
           f.t - lag(f.t) OVER (PARTITION BY kp.id, f.track_id ORDER BY f.t) AS gap
    FROM kp
    JOIN patrol_fix f
      ON f.geom && ST_Expand(kp.geom, :dx * kp.radius_m, :dy * kp.radius_m)
     AND ST_DWithin(f.geom::geography, kp.geom::geography, kp.radius_m)
    WHERE f.t >= :start AND f.t < :end
)
SELECT kp.id, kp.name, kp.kind, kp.radius_m, kp.generated,
       ST_X(kp.geom) AS lon, ST_Y(kp.geom) AS lat,
       max(near.t) AS last_visit, count(near.t) AS fixes,
       count(DISTINCT near.staff_id) AS visitors,
       coalesce(sum(extract(epoch FROM near.gap))
                FILTER (WHERE near.gap <= make_interval(secs => :max_gap)), 0)::float8 AS dwell_s
FROM kp LEFT JOIN near ON near.id = kp.id
GROUP BY kp.id, kp.name, kp.kind, kp.radius_m, kp.generated, kp.geom
ORDER BY kp.id
