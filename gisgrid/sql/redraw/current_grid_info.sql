-- The current grids of these villages: code, name and area (for codes kept by a redraw).
SELECT code, name, village_code, ST_Area(geom::geography) AS area_m2 FROM grid
WHERE valid_to IS NULL AND village_code = ANY(CAST(:villages AS text[]))
