-- The case a reporter rates, locked, with its outcome and whether the reporter rated it already.
-- A supporter rates when the case it joined is closed: that is its outcome too.
SELECT coalesce(o.status, r.status)::text AS status, r.idempotency_key, k.name AS key_name,
       EXISTS (SELECT 1 FROM report_event e
               WHERE e.report_id = r.id AND e.action = 'evaluate' AND e.username = :who) AS rated
FROM report r
LEFT JOIN api_key k ON k.id = r.api_key_id
LEFT JOIN report o ON o.id = r.duplicate_of
WHERE r.id = :id
FOR UPDATE OF r
