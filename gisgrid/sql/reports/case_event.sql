-- One step of a case's loop, in the same transaction as the change it made: who, from which status
-- to which, where the case went, the note, the verdict, what the step carried (detail) and the
-- client's key for it (a resent queued step is taken once).
INSERT INTO report_event (report_id, at, action, from_status, to_status, account_id, username,
                          assignee_id, handler_level, note, satisfied, detail, idempotency_key)
VALUES (:report, :at, :action, :from_status, :to_status, :account, :username, :assignee, :level,
        :note, :satisfied, CAST(:detail AS jsonb), :key)
