-- Scratch table of legs, which pgr_dijkstra reads as its combinations.
CREATE TEMP TABLE IF NOT EXISTS route_legs (source bigint, target bigint)
ON COMMIT DROP
