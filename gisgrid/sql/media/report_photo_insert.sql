-- A photo on a report: the same photo twice on one report, or the same client key twice, is
-- one row (a resend of a queued upload); RETURNING is empty when it was already there.
INSERT INTO report_photo (report_id, photo_id, stage, account_id, username, idempotency_key)
VALUES (:report_id, :photo_id, :stage, :account_id, :username, :key)
ON CONFLICT DO NOTHING
RETURNING id
