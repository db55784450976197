-- Every current grid of a county: code, name, village and geometry (what publishing keeps).
SELECT code, name, village_code, ST_AsBinary(geom) AS wkb FROM grid
WHERE valid_to IS NULL AND village_code LIKE :county_prefix || '%'
ORDER BY code
