-- Households inside the caller's scope by part of the head's name or the phone's last four
-- digits (what a caller on the hotline gives). Only the last four digits of the phone leave
-- the database; the name is the register's (the caller may read it, and the read is audited).
SELECT h.id, h.address, h.head_name, right(h.phone, 4) AS phone_tail,
       g.code AS grid_code, g.name AS grid_name, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
FROM household h
JOIN grid g ON g.id = h.grid_id
WHERE g.code LIKE CAST(:scope AS text) || '%'
  AND g.code LIKE CAST(:prefix AS text) || '%'
  AND ((CAST(:tail AS text) IS NOT NULL AND right(h.phone, 4) = CAST(:tail AS text))
       OR (CAST(:name AS text) IS NOT NULL AND h.head_name ILIKE CAST(:name AS text)))
ORDER BY h.head_name, h.id
LIMIT :limit
