-- The previous name and boundary of each unit an import replaces, kept in admin_unit_history.
INSERT INTO admin_unit_history (code, name, level, parent_code, valid_to, import_id, geom)
SELECT code, name, level::text, parent_code, :f, :i, geom
FROM admin_unit
WHERE code = ANY(:codes)
