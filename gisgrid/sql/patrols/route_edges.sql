-- The road network around the worker's grid(s), for pgRouting (which reads edges by SQL text).
INSERT INTO route_edges (id, source, target, cost, reverse_cost, geom)
SELECT r.id, r.node_from, r.node_to, r.length_m, r.length_m, r.geom
FROM road_segment r
WHERE r.geom && (
    SELECT ST_Expand(ST_Extent(gr.geom)::geometry, :margin)
    FROM staff_assignment a JOIN grid gr ON gr.id = a.grid_id
    WHERE a.staff_id = :staff AND a.valid_to IS NULL AND gr.valid_to IS NULL
      AND a.role <> 'household_leader')
