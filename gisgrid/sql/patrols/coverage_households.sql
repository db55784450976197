-- The unit's households as two arrays (lon, lat): visits are measured against the period's
-- fixes in Python (gisgrid.coverage._last_visits), one row so no Python object per household.
SELECT coalesce(array_agg(ST_X(h.geom) ORDER BY h.id), '{}') AS lon,
       coalesce(array_agg(ST_Y(h.geom) ORDER BY h.id), '{}') AS lat
FROM household h
JOIN grid gr ON gr.id = h.grid_id AND gr.valid_to IS NULL AND gr.code LIKE :prefix || '%'
