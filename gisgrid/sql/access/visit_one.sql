-- One visit as recorded, with its household's current grid.
SELECT v.id, v.household_id, v.kind, v.note, v.visited_at, v.username, v.lon, v.lat,
       v.changes, p.sha256 AS photo, g.code AS grid_code
FROM household_visit v
LEFT JOIN photo p ON p.id = v.photo_id
JOIN household h ON h.id = v.household_id
LEFT JOIN grid g ON g.id = h.grid_id
WHERE v.id = :id
