-- A unit's child units (towns of a county, villages of a town).
SELECT code, name, level::text AS level, parent_code FROM admin_unit
WHERE parent_code = :code ORDER BY code
