-- One full-time worker per grid (lowest id), to assign open reports to.
SELECT DISTINCT ON (grid_id) grid_id, staff_id FROM staff_assignment
WHERE role = 'full_time' AND grid_id = ANY(:g) ORDER BY grid_id, staff_id
