-- Household points of the given grids: reports fall where people are.
SELECT ST_X(geom), ST_Y(geom), grid_id FROM household
WHERE grid_id = ANY(:g) ORDER BY id
