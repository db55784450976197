-- The county's villages (before their towns: they point at them).
DELETE FROM admin_unit WHERE code LIKE :p AND level = 'village'
