-- Household points of current grids as a vector tile (id and size only: no personal data),
-- limited to the caller's scope (a grid-code prefix).
WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m),
rows AS (
    SELECT h.id, h.size, g.code AS grid_code,
           ST_AsMVTGeom(ST_Transform(h.geom, 3857), env.m, 4096, 64, true) AS geom
    FROM household h
    JOIN grid g ON g.id = h.grid_id AND g.valid_to IS NULL, env
    WHERE h.geom && ST_Transform(env.m, 4326)
      AND g.code LIKE :scope || '%' 
)
SELECT ST_AsMVT(rows, 'households', 4096, 'geom') FROM rows WHERE geom IS NOT NULL
