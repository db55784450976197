-- The cases a wall shows for a unit: open ones (submitted, waiting for their on-site check or
-- to be registered, .. in_progress) and those fed back and waiting for the center to verify
-- and close (resolved), with the stage of the loop each is at and that stage's limit. With
-- since: every report of the unit written since that version, whatever its status now, so the
-- wall can drop the ones that were closed or cancelled. Supporters (duplicates) add no work and
-- are left out. Compact rows: names come from the page (categories, grids), times as epoch seconds.
SELECT r.id, r.category, r.status::text AS status, r.stage, r.generated,
       extract(epoch FROM r.reported_at)::bigint AS reported,
       extract(epoch FROM r.dispatched_at)::bigint AS dispatched,
       extract(epoch FROM r.due_at)::bigint AS due,
       extract(epoch FROM r.stage_due_at)::bigint AS stage_due,
       (SELECT count(*) FROM report_event e
        WHERE e.report_id = r.id AND e.action = 'supervise')::int AS supervised,
       r.handler_level, r.escalations, g.code AS grid_code,
       round(ST_X(r.geom)::numeric, 6)::float8 AS lon, round(ST_Y(r.geom)::numeric, 6)::float8 AS lat
FROM report r
JOIN grid g ON g.id = r.grid_id
WHERE g.village_code LIKE CAST(:prefix AS text) || '%'
  AND r.duplicate_of IS NULL
  AND (CASE WHEN CAST(:since AS text) IS NULL
            THEN r.status IN ('submitted', 'registered', 'dispatched', 'in_progress', 'resolved')
            ELSE r.changed_xid >= CAST(CAST(:since AS text) AS xid8) END)
ORDER BY r.reported_at DESC, r.id DESC
LIMIT :limit
