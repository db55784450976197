-- The units of one level under a county (towns, villages) or its current grids: what a bulk
-- coverage job measures, one task per unit and window.
SELECT code FROM admin_unit WHERE code LIKE :prefix || '%' AND level::text = :level
UNION ALL
SELECT code FROM grid WHERE :level = 'grid' AND valid_to IS NULL AND code LIKE :prefix || '%'
ORDER BY 1
