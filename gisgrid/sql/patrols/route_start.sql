-- Where the worker is: the last fix before :at, else the centre of their first grid.
SELECT lon, lat, source FROM (
    (SELECT ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat, 'last_fix' AS source, 0 AS o
     FROM patrol_fix f WHERE f.staff_id = :staff AND f.t < :at
     ORDER BY f.t DESC LIMIT 1)
    UNION ALL
    (SELECT ST_X(ST_PointOnSurface(gr.geom)), ST_Y(ST_PointOnSurface(gr.geom)), 'grid_centre', 1
     FROM staff_assignment a JOIN grid gr ON gr.id = a.grid_id
     WHERE a.staff_id = :staff AND a.valid_to IS NULL AND gr.valid_to IS NULL
       AND a.role <> 'household_leader'
     ORDER BY a.id LIMIT 1)
) s
ORDER BY o LIMIT 1
