-- Patrol fixes since :since inside a box (WGS84), as two arrays (lon, lat): the candidates for
-- the households-visited measure. The box keeps the read on patrol_fix's GiST index.
SELECT coalesce(array_agg(ST_X(f.geom)), '{}') AS lon,
       coalesce(array_agg(ST_Y(f.geom)), '{}') AS lat
FROM patrol_fix f
WHERE f.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AND f.t >= :since
