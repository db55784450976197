-- Which of the given staff hold a current assignment on a grid under the scope prefix.
SELECT DISTINCT a.staff_id
FROM staff_assignment a
JOIN grid g ON g.id = a.grid_id
WHERE a.staff_id = ANY(:ids) AND a.valid_to IS NULL AND g.code LIKE :scope || '%'
