-- A bulk job's row, to apply it (only a finished assignment job is applied).
SELECT id, kind, status, params FROM bulk_job WHERE id = :job
