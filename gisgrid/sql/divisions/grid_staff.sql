-- Staff serving a grid now or at :as_of, household leaders aside.
SELECT s.id, s.name, a.role::text AS role, s.on_duty
FROM staff_assignment a
JOIN staff s ON s.id = a.staff_id
WHERE a.grid_id = :g AND a.role <> 'household_leader'
  AND CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN a.valid_to IS NULL
           ELSE a.valid_from <= CAST(:as_of AS timestamptz)
                AND (a.valid_to IS NULL OR a.valid_to > CAST(:as_of AS timestamptz)) END
ORDER BY a.role, s.id
