-- Every household point with its grid, read by COPY for the in-memory assignment.
SELECT id, ST_X(geom), ST_Y(geom), grid_id FROM household WHERE geom IS NOT NULL
