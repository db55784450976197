-- A step's whole outcome written back at once (the row is locked by case_locked): status, who
-- holds it, its clocks, class, stage, department and closing code, as gisgrid/reports/cases.py
-- decided them.
UPDATE report SET
    status = CAST(:status AS report_status),
    handler_level = :handler_level,
    assignee_id = :assignee_id,
    updated_at = :updated_at,
    dispatched_at = :dispatched_at,
    due_at = :due_at,
    closed_at = :closed_at,
    satisfied = :satisfied,
    escalations = :escalations,
    triage = :triage,
    triage_reason = :triage_reason,
    stage = :stage,
    stage_due_at = :stage_due_at,
    department_id = :department_id,
    dept_sent_at = :dept_sent_at,
    dept_respond_by = :dept_respond_by,
    dept_accepted_at = :dept_accepted_at,
    dept_due_at = :dept_due_at,
    dept_resolved_at = :dept_resolved_at,
    outcome = :outcome,
    outcome_reason = :outcome_reason,
    reopens = :reopens,
    group_id = :group_id
WHERE id = :id
