-- The grid a point goes to, and the other candidates (gisgrid_place, reports/intake_functions.sql).
SELECT id, code, name, village_code, covers, distance_m
FROM gisgrid_place(:lon, :lat, :tol_m, :tol_deg)
