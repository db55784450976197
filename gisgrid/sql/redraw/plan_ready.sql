-- The draft is written: ready to read, edit and publish.
UPDATE redraw_plan SET status = 'ready', progress = 1, message = :message,
       summary = CAST(:summary AS jsonb), error = NULL, updated_at = now()
WHERE id = :id
