-- Fixes of the period around the unit (its box widened by the buffer and a margin, so pieces
-- that cross the edge keep both ends). One row of arrays: a county-day is ~145,000 fixes, and a
-- row (and a Python tuple) each cost 4x as much. Unordered: the caller sorts them by track and
-- time with numpy, ~10x cheaper than a sort here (gisgrid.patrols.coverage.fixes_near).
SELECT coalesce(array_agg(f.track_id), '{}') AS track,
       coalesce(array_agg(f.staff_id), '{}') AS staff,
       coalesce(array_agg(extract(epoch FROM f.t)::float8), '{}') AS epoch,
       coalesce(array_agg(ST_X(f.geom)), '{}') AS lon,
       coalesce(array_agg(ST_Y(f.geom)), '{}') AS lat
FROM patrol_fix f
WHERE f.t >= :start AND f.t < :end
  AND f.geom && ST_Expand(ST_Envelope(ST_GeomFromEWKB(:ugeom)), :margin)
