-- The county's towns.
DELETE FROM admin_unit WHERE code LIKE :p AND level = 'town'
