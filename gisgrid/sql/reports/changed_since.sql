-- The latest step someone else took on a report after a moment (what a worker saw on their
-- phone): a queued step must not overrule a reassignment, escalation or closing made meanwhile.
SELECT action, username, at FROM report_event
WHERE report_id = :id AND at > :seen AND account_id IS DISTINCT FROM :account
  AND action NOT IN ('supervise', 'evaluate')
ORDER BY at DESC, id DESC
LIMIT 1
