-- The legs of the route, in order, as (source, target) node pairs.
INSERT INTO route_legs SELECT * FROM unnest(CAST(:s AS bigint[]),
CAST(:e AS bigint[]))
