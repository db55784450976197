-- A finished job's new grids into household, for one county: only rows whose grid changed
-- (a redraw moves a few percent; the rest are never rewritten).
UPDATE household h SET grid_id = b.grid_id
FROM bulk_assignment b
WHERE b.county_code = :county AND b.job_id = :job AND h.id = b.point_id
  AND b.grid_id IS NOT NULL AND h.grid_id IS DISTINCT FROM b.grid_id
