-- A bulk job ends: done (rows written) or failed (the error; rows written so far stay, keyed by
-- the job, and go with it when it is deleted).
UPDATE bulk_job SET status = :status, rows = :rows, error = :error, finished_at = now()
WHERE id = :job
