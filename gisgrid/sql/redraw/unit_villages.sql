-- The villages of a unit (the unit itself when it is a village), by code prefix.
SELECT code, name FROM admin_unit
WHERE level = 'village' AND code LIKE :prefix || '%' AND geom IS NOT NULL
ORDER BY code
