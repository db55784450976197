-- Every leg along the roads in one pgr_dijkstra call (legs from route_legs), drawn in order.
WITH legs AS (
  SELECT * FROM unnest(CAST(:s AS bigint[]), CAST(:e AS bigint[]), CAST(:k AS int[]))
    AS l(source, target, k)
), p AS (
  SELECT d.*, l.k
  FROM pgr_dijkstra(:edges, 'SELECT source, target FROM route_legs', directed => false) d
  JOIN legs l ON l.source = d.start_vid AND l.target = d.end_vid
)
SELECT ST_AsGeoJSON(ST_Collect(e.geom ORDER BY p.k, p.path_seq), 7) AS g,
       sum(e.cost) AS length_m
FROM p JOIN route_edges e ON e.id = p.edge
