-- One track per staff member and local day; widen its time span, tie it to the member's grid
-- (a full-time role first, household-leader duty last).
INSERT INTO patrol_track (staff_id, day, started_at, ended_at, source, generated, grid_id)
SELECT d.staff, d.day, d.t0, d.t1, :source, :generated,
       (SELECT a.grid_id FROM staff_assignment a
        WHERE a.staff_id = d.staff AND a.valid_to IS NULL
        ORDER BY a.role = 'household_leader', a.role, a.id LIMIT 1)
FROM unnest(CAST(:staff AS int[]), CAST(:day AS date[]), CAST(:t0 AS timestamptz[]),
            CAST(:t1 AS timestamptz[])) AS d(staff, day, t0, t1)
ON CONFLICT (staff_id, day) DO UPDATE
SET started_at = LEAST(patrol_track.started_at, EXCLUDED.started_at),
    ended_at = GREATEST(patrol_track.ended_at, EXCLUDED.ended_at)
RETURNING staff_id, day, id
