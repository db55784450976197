-- The scratch road network as pgRouting reads it (its edges SQL, passed as a parameter).
SELECT id, source, target, cost, reverse_cost FROM route_edges
