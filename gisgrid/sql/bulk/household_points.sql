-- One county's households (by their grid's code), read by COPY for the in-memory assignment.
SELECT h.id, ST_X(h.geom), ST_Y(h.geom) FROM household h JOIN grid g ON g.id = h.grid_id
WHERE h.geom IS NOT NULL AND g.code LIKE :county || '%'
