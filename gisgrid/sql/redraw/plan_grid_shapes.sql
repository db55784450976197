-- A draft's grids with their geometry as WKB (for the impact and for publishing).
SELECT code, village_code, households, changed, ST_AsBinary(geom) AS wkb
FROM redraw_plan_grid WHERE plan_id = :id ORDER BY code
