-- Names of units by code.
SELECT code, name FROM admin_unit WHERE code = ANY(CAST(:codes AS text[]))
