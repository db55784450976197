-- The work stopped with an error: the core's words for logs, and its reason and values in the
-- summary, so the API and the command line can say it in Chinese (api/errors.py).
UPDATE redraw_plan SET status = 'failed', error = :error, message = 'failed',
       summary = CAST(:failure AS jsonb), updated_at = now()
WHERE id = :id
