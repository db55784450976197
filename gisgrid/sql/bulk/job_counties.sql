-- The counties a job wrote assignment rows for (each applied in its own statement).
SELECT DISTINCT county_code FROM bulk_assignment WHERE job_id = :job ORDER BY 1
