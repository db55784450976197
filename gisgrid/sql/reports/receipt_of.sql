-- What proves a resident filed a report: the Idempotency-Key their phone made (the receipt),
-- with the key the report came in with (only the residents' own form issues receipts).
SELECT r.idempotency_key, k.name AS key_name, coalesce(o.status, r.status)::text AS status,
       (SELECT count(*) FROM report_photo rp WHERE rp.report_id = r.id
        AND rp.username = :who) AS photos
FROM report r LEFT JOIN api_key k ON k.id = r.api_key_id LEFT JOIN report o ON o.id = r.duplicate_of
WHERE r.id = :id
FOR UPDATE OF r
