-- The counties served, as "name code6" for an error message.
SELECT string_agg(name || ' ' || left(code, 6), ', ' ORDER BY code)
FROM admin_unit WHERE level = 'county'
