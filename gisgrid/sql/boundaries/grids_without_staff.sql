-- New grids no one serves yet (household leaders do not count).
SELECT g.code
FROM grid g
WHERE g.generation_id = :g
  AND NOT EXISTS (SELECT 1 FROM staff_assignment a
                  WHERE a.grid_id = g.id AND a.valid_to IS NULL AND a.role <> 'household_leader')
ORDER BY g.code
