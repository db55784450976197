-- The current grids inside an account's scope (a grid-code prefix), with household counts:
-- what a worker with several grids picks from.
SELECT g.code, g.name,
       (SELECT count(*) FROM household h WHERE h.grid_id = g.id) AS households
FROM grid g
WHERE g.valid_to IS NULL AND g.code LIKE CAST(:scope AS text) || '%'
ORDER BY g.code
LIMIT :limit
