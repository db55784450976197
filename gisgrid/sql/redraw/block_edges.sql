-- Which blocks of these villages share boundary, how much, and how much along roads.
SELECT s.village_code, e.a, e.b, e.shared_m, e.road_m
FROM redraw_block_edge e JOIN redraw_block_set s ON s.id = e.set_id
WHERE s.generation_id = :generation_id AND s.roads_version = :roads_version
  AND s.village_code = ANY(CAST(:villages AS text[]))
