-- The steps of a case's loop, in order.
SELECT at, action, from_status, to_status, username, assignee_id, handler_level,
note, satisfied FROM report_event WHERE report_id = :id ORDER BY at, id
