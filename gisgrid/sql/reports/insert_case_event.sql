-- One step of a case's loop, as taken.
INSERT INTO report_event (report_id, at, action, from_status, to_status, account_id, username,
                          assignee_id, handler_level, note, satisfied)
VALUES (:id, :now, :action, :from_status, :to_status, :account, :username, :assignee, :level,
        :note, :satisfied)
