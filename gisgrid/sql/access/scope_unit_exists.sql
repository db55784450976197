-- Whether a unit-code prefix scope matches any administrative unit.
SELECT 1 FROM admin_unit WHERE code LIKE :p || '%' LIMIT 1
