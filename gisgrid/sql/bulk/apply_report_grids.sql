-- A finished job's new grids into report, for one county: only rows whose grid changed.
UPDATE report r SET grid_id = b.grid_id
FROM bulk_assignment b
WHERE b.county_code = :county AND b.job_id = :job AND r.id = b.point_id
  AND b.grid_id IS NOT NULL AND r.grid_id IS DISTINCT FROM b.grid_id
