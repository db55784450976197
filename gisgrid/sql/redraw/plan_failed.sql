-- The work stopped with an error the planner can read.
UPDATE redraw_plan SET status = 'failed', error = :error, message = 'failed', updated_at = now()
WHERE id = :id
