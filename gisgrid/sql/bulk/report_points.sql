-- One county's reports (by their grid's code), read by COPY for the in-memory assignment.
SELECT r.id, ST_X(r.geom), ST_Y(r.geom) FROM report r JOIN grid g ON g.id = r.grid_id
WHERE r.geom IS NOT NULL AND g.code LIKE :county || '%'
