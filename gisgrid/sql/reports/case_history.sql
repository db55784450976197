-- Every recorded step of a case, oldest first, with what each carried.
SELECT at, action, from_status, to_status, username, assignee_id, handler_level, note, satisfied,
       detail
FROM report_event WHERE report_id = :id ORDER BY at, id
