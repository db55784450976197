-- Which of the given staff ids exist.
SELECT id FROM staff WHERE id = ANY(:ids)
