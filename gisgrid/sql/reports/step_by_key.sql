-- A step already taken on this report under this client key (a resent queued step), if any.
SELECT id, action FROM report_event WHERE report_id = :id AND idempotency_key = :key
