-- A generation's id by name.
SELECT id FROM generation WHERE name = :n
