-- Village boundaries to cut, by code.
SELECT code, name, ST_AsBinary(geom) AS wkb FROM admin_unit
WHERE code = ANY(CAST(:codes AS text[])) AND level = 'village' AND geom IS NOT NULL
ORDER BY code
