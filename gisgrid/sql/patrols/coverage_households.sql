-- The unit's households as arrays (lon, lat): visits are measured against the period's
-- fixes in Python (gisgrid.coverage._last_visits), one row so no Python object per household.
-- `recorded`: the latest visit a worker recorded (入户走访) in the period, epoch seconds or NULL.
-- The period's visits are grouped once and hash-joined (a lateral probe per household cost
-- more than the rest), and the rows are ordered once for all three arrays.
WITH v AS (
    SELECT x.household_id, extract(epoch FROM max(x.visited_at))::float8 AS last
    FROM household_visit x
    WHERE x.visited_at >= :start AND x.visited_at < :end
    GROUP BY x.household_id
), h AS (
    SELECT h.id, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, v.last
    FROM household h
    JOIN grid gr ON gr.id = h.grid_id AND gr.valid_to IS NULL AND gr.code LIKE :prefix || '%'
    LEFT JOIN v ON v.household_id = h.id
    ORDER BY h.id
)
SELECT coalesce(array_agg(h.lon), '{}') AS lon,
       coalesce(array_agg(h.lat), '{}') AS lat,
       coalesce(array_agg(h.last), '{}') AS recorded
FROM h
