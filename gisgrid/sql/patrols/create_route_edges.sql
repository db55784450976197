-- Scratch table of the road network around a worker's grids (pgRouting reads it).
CREATE TEMP TABLE IF NOT EXISTS route_edges (id int, source bigint, target bigint,
cost float8, reverse_cost float8, geom geometry(LineString, 4326)) ON COMMIT DROP
