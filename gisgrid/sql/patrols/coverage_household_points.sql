-- Households of the given current grids, as three parallel arrays (grid code, lon, lat): one
-- row, so a county's 100k+ points reach numpy without a Python object per point.
SELECT coalesce(array_agg(g.code), '{}') AS code,
       coalesce(array_agg(ST_X(h.geom)), '{}') AS lon,
       coalesce(array_agg(ST_Y(h.geom)), '{}') AS lat
FROM grid g
JOIN household h ON h.grid_id = g.id
WHERE g.code = ANY(:codes) AND g.valid_to IS NULL
