-- The first county loaded (lowest code): where the residents' form opens its map.
SELECT code FROM admin_unit WHERE level = 'county' ORDER BY code LIMIT 1
