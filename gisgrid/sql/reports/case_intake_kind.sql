-- How a report came into the loop, for the first line of its history: a supporter was registered
-- with its original; a report checked on site first was collected (收集); one with neither a
-- dispatch nor a check was registered; the rest were dispatched at intake (派遣).
SELECT CASE
         WHEN r.duplicate_of IS NOT NULL THEN 'register'
         WHEN r.stage IN ('collected', 'checked')
              OR EXISTS (SELECT 1 FROM report_event e
                         WHERE e.report_id = r.id AND e.action IN ('check', 'register'))
           THEN 'collect'
         WHEN r.dispatched_at IS NULL THEN 'register'
         ELSE 'dispatch'
       END AS kind
FROM report r WHERE r.id = :id
