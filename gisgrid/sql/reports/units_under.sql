-- Every town or every village under a unit (by code prefix), for rankings that skip a level
-- (a county's villages on its red and black lists).
SELECT code, name, level::text AS level FROM admin_unit
WHERE code LIKE :prefix || '%' AND level = CAST(:level AS unit_level)
ORDER BY code
