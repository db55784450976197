-- The county's grid generations, newest first, with their grid counts.
SELECT id, name, valid_from, valid_to, description,
       (SELECT count(*) FROM grid g WHERE g.generation_id = gen.id) AS grids
FROM generation gen
WHERE left(county_code, 6) = :county
ORDER BY valid_from DESC
