-- The road network around two points (a worker and where they are going), for pgRouting: the
-- box of both points widened by :margin degrees, so the way may bend away from the straight line.
INSERT INTO route_edges (id, source, target, cost, reverse_cost, geom)
SELECT r.id, r.node_from, r.node_to, r.length_m, r.length_m, r.geom
FROM road_segment r
WHERE r.geom && ST_Expand(ST_MakeEnvelope(least(:lon1, :lon2), least(:lat1, :lat2),
                                          greatest(:lon1, :lon2), greatest(:lat1, :lat2), 4326),
                          :margin)
