-- One household per grid (a seeded shuffle) and its full-time worker: where a month's reports fall.
SELECT DISTINCT ON (h.grid_id) h.grid_id, ST_X(h.geom), ST_Y(h.geom), s.staff_id
FROM household h
JOIN staff_assignment s ON s.grid_id = h.grid_id AND s.role = 'full_time'
WHERE h.grid_id = ANY(:g)
ORDER BY h.grid_id, md5(h.id::text || :seed), s.staff_id
