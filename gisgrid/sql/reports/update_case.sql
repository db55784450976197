-- A step's effect on the case: its status and handler, and what the step sets besides (closing
-- stamps closed_at, escalating counts, a call-back records the verdict); the rest keeps its value.
UPDATE report SET status = CAST(:status AS report_status), handler_level = :level,
       assignee_id = :assignee, updated_at = :now,
       closed_at = CASE WHEN CAST(:closes AS boolean) THEN :now ELSE closed_at END,
       escalations = escalations + CASE WHEN CAST(:escalates AS boolean) THEN 1 ELSE 0 END,
       satisfied = CASE WHEN CAST(:rates AS boolean) THEN CAST(:satisfied AS boolean)
                        ELSE satisfied END
WHERE id = :id
