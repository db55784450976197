-- The county's current generation (the one a new plan starts from).
SELECT id, name, county_code, valid_from FROM generation
WHERE county_code = :county AND valid_to IS NULL
ORDER BY valid_from DESC LIMIT 1
