-- The county's current generation, locked so two commits cannot both close it.
SELECT id, name, valid_from FROM generation WHERE county_code = :c
AND valid_to IS NULL ORDER BY valid_from DESC LIMIT 1 FOR UPDATE
