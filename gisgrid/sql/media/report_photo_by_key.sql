-- A photo already added to this report under this client key (a resend), if any.
SELECT p.sha256 FROM report_photo rp JOIN photo p ON p.id = rp.photo_id
WHERE rp.report_id = :report_id AND rp.idempotency_key = :key
