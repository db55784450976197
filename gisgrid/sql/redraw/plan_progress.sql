-- A worker says how far it is (its own short transaction, so every reader sees it at once).
UPDATE redraw_plan SET status = :status, progress = :progress, message = :message,
       updated_at = now()
WHERE id = :id AND status IN ('queued', 'running')
