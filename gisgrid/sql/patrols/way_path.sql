-- The shortest way along the roads between two network nodes, as one line and its length.
SELECT ST_AsGeoJSON(ST_LineMerge(ST_Collect(e.geom ORDER BY d.path_seq)), 7) AS g,
       sum(e.cost) AS length_m
FROM pgr_dijkstra(:edges, CAST(:source AS bigint), CAST(:target AS bigint), directed => false) d
JOIN route_edges e ON e.id = d.edge
