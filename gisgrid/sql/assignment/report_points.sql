-- Every report point with its grid, read by COPY for the in-memory assignment.
SELECT id, ST_X(geom), ST_Y(geom), grid_id FROM report WHERE geom IS NOT NULL
