-- What the latest step of a kind carried (the closing code a feedback stated, for instance).
SELECT detail FROM report_event WHERE report_id = :id AND action = :action
ORDER BY at DESC, id DESC LIMIT 1
