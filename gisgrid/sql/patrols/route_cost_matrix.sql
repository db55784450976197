-- Road distance between every pair of stop nodes (undirected).
SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCostMatrix(:edges,
CAST(:nodes AS bigint[]), directed => false)
