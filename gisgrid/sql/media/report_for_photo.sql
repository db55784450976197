-- The report a photo is added to: its grid (for the scope check) and whether it is open.
SELECT r.id, r.status::text AS status, g.code AS grid_code
FROM report r LEFT JOIN grid g ON g.id = r.grid_id
WHERE r.id = :id
