-- The county's units of the parent level with their WKB, to check containment and cover.
SELECT code, name, ST_AsBinary(geom) AS wkb
FROM admin_unit
WHERE level = CAST(:l AS unit_level) AND code LIKE :p AND geom IS NOT NULL
ORDER BY code
