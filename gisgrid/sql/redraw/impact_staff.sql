-- Open staff assignments on the current grids of these villages, and household leaders' groups.
SELECT a.staff_id, g.code AS grid_code, a.role::text AS role,
       (SELECT hg.id FROM household_group hg WHERE hg.leader_id = a.staff_id
        ORDER BY hg.id LIMIT 1) AS group_id
FROM staff_assignment a JOIN grid g ON g.id = a.grid_id
WHERE a.valid_to IS NULL AND g.valid_to IS NULL
  AND g.village_code = ANY(CAST(:villages AS text[]))
