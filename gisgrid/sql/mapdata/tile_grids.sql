-- Grid polygons of one generation as a Mapbox vector tile. Filter in storage SRID against the
-- tile envelope (GiST), then transform only the hits to Web Mercator for ST_AsMVTGeom.
WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m),
rows AS (
    SELECT g.code, g.name, g.village_code,
           ST_AsMVTGeom(ST_Transform(g.geom, 3857), env.m, 4096, 64, true) AS geom
    FROM grid g, env
    WHERE g.generation_id = :generation
      AND g.geom && ST_Transform(env.m, 4326)
)
SELECT ST_AsMVT(rows, 'grids', 4096, 'geom') FROM rows WHERE geom IS NOT NULL
