-- The unit's households as arrays (lon, lat): visits are measured against the period's
-- fixes in Python (gisgrid.coverage._last_visits), one row so no Python object per household.
-- `recorded`: the latest visit a worker recorded (入户走访) in the period, epoch seconds or NULL.
SELECT coalesce(array_agg(ST_X(h.geom) ORDER BY h.id), '{}') AS lon,
       coalesce(array_agg(ST_Y(h.geom) ORDER BY h.id), '{}') AS lat,
       coalesce(array_agg(v.last ORDER BY h.id), '{}') AS recorded
FROM household h
JOIN grid gr ON gr.id = h.grid_id AND gr.valid_to IS NULL AND gr.code LIKE :prefix || '%'
LEFT JOIN LATERAL (
    SELECT extract(epoch FROM max(x.visited_at))::float8 AS last FROM household_visit x
    WHERE x.household_id = h.id AND x.visited_at >= :start AND x.visited_at < :end
) v ON true
