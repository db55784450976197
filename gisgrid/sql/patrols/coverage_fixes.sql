-- Fixes of the period around the unit (its box widened by the buffer and a margin, so pieces
-- that cross the edge keep both ends), in track order for building pieces. One row of arrays:
-- a county-day is ~145,000 fixes, and a row (and a Python tuple) each cost 4x as much.
WITH f AS (
    SELECT f.track_id, f.staff_id, extract(epoch FROM f.t)::float8 AS t,
           ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
    FROM patrol_fix f
    WHERE f.t >= :start AND f.t < :end
      AND f.geom && ST_Expand(ST_Envelope(ST_GeomFromEWKB(:ugeom)), :margin)
    ORDER BY f.track_id, f.t
)
SELECT coalesce(array_agg(f.track_id), '{}') AS track,
       coalesce(array_agg(f.staff_id), '{}') AS staff,
       coalesce(array_agg(f.t), '{}') AS epoch,
       coalesce(array_agg(f.lon), '{}') AS lon,
       coalesce(array_agg(f.lat), '{}') AS lat
FROM f
