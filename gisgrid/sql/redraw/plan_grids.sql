-- A draft's grids as GeoJSON-ready rows (optionally one village), in code order.
SELECT p.code, p.village_code, v.name AS village_name, p.households, p.care_households,
       p.open_reports, p.blocks, p.area_m2, p.polsby_popper, p.in_band, p.changed,
       CASE WHEN CAST(:geometry AS boolean) THEN ST_AsGeoJSON(p.geom, 6)::json END AS geometry
FROM redraw_plan_grid p
LEFT JOIN admin_unit v ON v.code = p.village_code
WHERE p.plan_id = :id
  AND (CAST(:village AS text) IS NULL OR p.village_code = CAST(:village AS text))
ORDER BY p.code
