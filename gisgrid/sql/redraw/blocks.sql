-- The cut blocks of these villages, in block order.
SELECT s.village_code, b.id, b.seq, b.area_m2, b.perimeter_m, b.grid_code,
       ST_AsBinary(b.geom) AS wkb
FROM redraw_block b JOIN redraw_block_set s ON s.id = b.set_id
WHERE s.generation_id = :generation_id AND s.roads_version = :roads_version
  AND s.village_code = ANY(CAST(:villages AS text[]))
ORDER BY s.village_code, b.seq
