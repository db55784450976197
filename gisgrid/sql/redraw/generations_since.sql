-- Generations of a county published after a given one (what changed under a stale draft).
SELECT id, name, valid_from, description,
       (SELECT count(*) FROM grid g WHERE g.generation_id = gen.id) AS grids
FROM generation gen
WHERE county_code = :county AND valid_from > :since
ORDER BY valid_from
