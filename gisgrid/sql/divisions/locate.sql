-- Point -> grid of the current generation (or valid at :as_of), its units and its staff as a JSON
-- array (household leaders aside), in one round trip for the sync and the async path alike.
-- Edges included (ST_Covers, not ST_Contains); on a shared edge the lowest code wins, so the same
-- point always gets the same grid. Village, town and county follow the code hierarchy, not
-- geometry, so they always agree with the grid.
SELECT g.id, g.code, g.name, g.geom_generated,
       v.code AS village_code, v.name AS village_name,
       t.code AS town_code, t.name AS town_name,
       c.code AS county_code, c.name AS county_name,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', s.id, 'name', s.name, 'role', a.role::text, 'on_duty', s.on_duty)
                   ORDER BY a.role, s.id), '[]'::json)
        FROM staff_assignment a
        JOIN staff s ON s.id = a.staff_id
        WHERE a.grid_id = g.id AND a.role <> 'household_leader'
          AND CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN a.valid_to IS NULL
                   ELSE a.valid_from <= CAST(:as_of AS timestamptz)
                        AND (a.valid_to IS NULL OR a.valid_to > CAST(:as_of AS timestamptz))
              END) AS staff
FROM grid g
JOIN admin_unit v ON v.code = g.village_code
JOIN admin_unit t ON t.code = v.parent_code
JOIN admin_unit c ON c.code = t.parent_code
WHERE (CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN g.valid_to IS NULL
         ELSE g.valid_from <= CAST(:as_of AS timestamptz)
              AND (g.valid_to IS NULL OR g.valid_to > CAST(:as_of AS timestamptz)) END)
  -- The subdivided parts (grid_part, <= 64 vertices) keep the test cheap on big polygons.
  AND EXISTS (SELECT 1 FROM grid_part p WHERE p.grid_id = g.id
              AND ST_Covers(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)))
ORDER BY g.code
LIMIT 1
