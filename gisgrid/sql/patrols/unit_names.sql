-- Names of the given units.
SELECT code, name FROM admin_unit WHERE code = ANY(:c)
