-- An information update from a visit: the household's size and phone as the worker found them.
UPDATE household
SET size = coalesce(CAST(:size AS smallint), size),
    phone = coalesce(CAST(:phone AS text), phone)
WHERE id = :id
