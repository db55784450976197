-- Names of the given staff.
SELECT id, name FROM staff WHERE id = ANY(:i)
