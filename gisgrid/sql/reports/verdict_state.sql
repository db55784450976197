-- What the reporter's verdict needs, the row locked: the case's status (a supporter's is its
-- original's), the receipt it was filed with, and whether the reporter has rated it since it was
-- last closed (a reopened and closed-again case is rated again).
SELECT coalesce(o.status, r.status)::text AS status, r.idempotency_key, r.duplicate_of,
       k.name AS key_name,
       EXISTS (
           SELECT 1 FROM report_event e
           WHERE e.report_id = r.id AND e.action = 'evaluate' AND e.username = :who
             AND e.at >= coalesce(
                 (SELECT max(c.at) FROM report_event c
                  WHERE c.report_id = coalesce(r.duplicate_of, r.id) AND c.action = 'close'),
                 '-infinity'::timestamptz)
       ) AS rated
FROM report r
LEFT JOIN api_key k ON k.id = r.api_key_id
LEFT JOIN report o ON o.id = r.duplicate_of
WHERE r.id = :id
FOR UPDATE OF r
