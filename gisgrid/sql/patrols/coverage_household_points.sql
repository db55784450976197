-- Households of the given current grids, as parallel arrays (grid code, lon, lat): one
-- row, so a county's 100k+ points reach numpy without a Python object per point. `recorded`:
-- whether a worker recorded a visit (入户走访) since :since, which counts beside GPS proximity.
SELECT coalesce(array_agg(g.code), '{}') AS code,
       coalesce(array_agg(ST_X(h.geom)), '{}') AS lon,
       coalesce(array_agg(ST_Y(h.geom)), '{}') AS lat,
       coalesce(array_agg(EXISTS (
           SELECT 1 FROM household_visit v
           WHERE v.household_id = h.id AND v.visited_at >= :since)), '{}') AS recorded
FROM grid g
JOIN household h ON h.grid_id = g.id
WHERE g.code = ANY(:codes) AND g.valid_to IS NULL
