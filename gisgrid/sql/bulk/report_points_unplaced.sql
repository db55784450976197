-- Reports in no grid yet: the one partition with no county.
SELECT id, ST_X(geom), ST_Y(geom) FROM report WHERE geom IS NOT NULL AND grid_id IS NULL
