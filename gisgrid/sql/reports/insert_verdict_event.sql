-- The reporter's verdict as a step of the loop.
INSERT INTO report_event (report_id, at, action, from_status, to_status, username, note,
                          satisfied)
VALUES (:id, :now, 'evaluate', 'closed', 'closed', :who, :note, :s)
