-- A draft's blocks (optionally of one village) with the draft grid each is in.
SELECT pb.block_id, pb.village_code, pb.grid_code, pb.households, pb.care_households,
       pb.open_reports, b.seq, b.area_m2, b.perimeter_m, b.grid_code AS current_grid,
       CASE WHEN CAST(:wkb AS boolean) THEN ST_AsBinary(b.geom) END AS wkb,
       CASE WHEN CAST(:geojson AS boolean) THEN ST_AsGeoJSON(b.geom, 6)::json END AS geometry
FROM redraw_plan_block pb
JOIN redraw_block b ON b.id = pb.block_id
WHERE pb.plan_id = :id
  AND (CAST(:village AS text) IS NULL OR pb.village_code = CAST(:village AS text))
ORDER BY pb.village_code, b.seq
