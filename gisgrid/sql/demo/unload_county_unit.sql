-- The county itself.
DELETE FROM admin_unit WHERE code = :c
