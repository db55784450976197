-- Open reports in the caller's scope as a vector tile, with the overdue flag by the database clock.
WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m),
rows AS (
    SELECT r.id, r.category, r.status::text AS status, (r.due_at < now()) AS overdue,
           ST_AsMVTGeom(ST_Transform(r.geom, 3857), env.m, 4096, 64, true) AS geom
    FROM report r JOIN grid g ON g.id = r.grid_id, env
    WHERE r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')
      AND g.code LIKE :scope || '%' 
      AND r.geom && ST_Transform(env.m, 4326)
)
SELECT ST_AsMVT(rows, 'reports', 4096, 'geom') FROM rows WHERE geom IS NOT NULL
