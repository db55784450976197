-- A household's visits, newest first, with the photo's file name when one was taken. The
-- phone number in an information update is masked here unless :reveal.
SELECT v.id, v.household_id, v.kind, v.note, v.visited_at, v.username, v.lon, v.lat,
       p.sha256 AS photo,
       CASE WHEN v.changes ? 'phone' AND NOT :reveal
            THEN jsonb_set(v.changes, '{phone}', to_jsonb(left(v.changes->>'phone', 3) || '****'
                           || right(v.changes->>'phone', 4)))
            ELSE v.changes END AS changes
FROM household_visit v
LEFT JOIN photo p ON p.id = v.photo_id
WHERE v.household_id = :id
ORDER BY v.visited_at DESC, v.id DESC
LIMIT :limit
