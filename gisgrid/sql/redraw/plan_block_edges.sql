-- Adjacency of a draft's blocks in these villages (block ids of redraw_block).
SELECT s.village_code, ba.id AS a, bb.id AS b, e.shared_m, e.road_m
FROM redraw_block_edge e
JOIN redraw_block_set s ON s.id = e.set_id
JOIN redraw_block ba ON ba.set_id = e.set_id AND ba.seq = e.a
JOIN redraw_block bb ON bb.set_id = e.set_id AND bb.seq = e.b
WHERE s.id IN (
  SELECT DISTINCT b.set_id FROM redraw_plan_block pb JOIN redraw_block b ON b.id = pb.block_id
  WHERE pb.plan_id = :id AND pb.village_code = ANY(CAST(:villages AS text[]))
)
