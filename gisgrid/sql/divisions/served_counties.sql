-- The counties served, as "name code" for an error message.
SELECT string_agg(name || ' ' || code, ', ' ORDER BY code) FROM admin_unit
WHERE level = 'county'
