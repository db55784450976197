-- The household a visit is recorded for, with its current grid (the scope check) and the
-- register fields an information update may change, locked so two updates cannot interleave.
SELECT h.id, h.grid_id, g.code AS grid_code, h.size, h.phone
FROM household h LEFT JOIN grid g ON g.id = h.grid_id
WHERE h.id = :id
FOR UPDATE OF h
