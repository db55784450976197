-- Last known position of each staff member serving the unit's current grids: the latest fix
-- of any of their tracks (DISTINCT ON keeps one row per staff, newest first), no older than
-- :max_age_h hours (the center map's staff layer) or newer than :after (the wall's previous
-- look minus a margin: what moved, not everyone again); the one not used is bound as NULL.
SELECT DISTINCT ON (s.id)
       s.id AS staff_id, s.name, s.role::text AS role, s.generated,
       g.code AS grid_code, f.t AS fixed_at,
       extract(epoch FROM now() - f.t)::float8 AS age_s,
       f.accuracy_m, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
FROM patrol_fix f
JOIN patrol_track tr ON tr.id = f.track_id
JOIN staff s ON s.id = tr.staff_id
JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL
JOIN grid g ON g.id = a.grid_id AND g.valid_to IS NULL
WHERE g.village_code LIKE CAST(:prefix AS text) || '%'
  AND f.t > greatest(now() - make_interval(hours => CAST(:max_age_h AS int)),
                     CAST(:after AS timestamptz))
  -- A fix stamped in the future (a phone clock running ahead) is not where anyone is now.
  AND f.t <= now() + interval '5 minutes'
ORDER BY s.id, f.t DESC
