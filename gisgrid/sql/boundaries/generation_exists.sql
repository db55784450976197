-- Whether a generation name is taken.
SELECT 1 FROM generation WHERE name = :n
