-- The wall's headline figures for a unit (and categories, when given): open cases, new
-- today (China day), overdue, fed back and waiting for verification, open emergencies and
-- safety cases (alarm); and for the reports that fell due in the last days: closed on time
-- (按期结案率), closed, and call-back verdicts (satisfaction). As unit_scores counts them:
-- supporters and cancelled reports are not cases.
WITH scoped AS (
    SELECT r.*
    FROM report r JOIN grid g ON g.id = r.grid_id
    WHERE g.village_code LIKE CAST(:prefix AS text) || '%'
      AND r.duplicate_of IS NULL
      AND (CAST(:categories AS text[]) IS NULL OR r.category = ANY(CAST(:categories AS text[])))
)
SELECT
    count(*) FILTER (WHERE status IN ('submitted', 'registered', 'dispatched', 'in_progress'))
        AS open,
    count(*) FILTER (WHERE reported_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                                           AT TIME ZONE 'Asia/Shanghai') AS new_today,
    count(*) FILTER (WHERE status IN ('submitted', 'registered', 'dispatched', 'in_progress')
                       AND due_at < now()) AS overdue,
    count(*) FILTER (WHERE status = 'resolved') AS to_verify,
    count(*) FILTER (WHERE status IN ('submitted', 'registered', 'dispatched', 'in_progress')
                       AND category = ANY(CAST(:alarm AS text[]))) AS alarm,
    count(*) FILTER (WHERE status <> 'cancelled' AND due_at >= now() - make_interval(days => :days)
                       AND due_at < now()) AS due,
    count(*) FILTER (WHERE status = 'closed' AND due_at >= now() - make_interval(days => :days)
                       AND due_at < now()) AS closed,
    count(*) FILTER (WHERE status = 'closed' AND closed_at <= due_at
                       AND due_at >= now() - make_interval(days => :days) AND due_at < now())
        AS on_time,
    count(*) FILTER (WHERE satisfied IS NOT NULL
                       AND due_at >= now() - make_interval(days => :days) AND due_at < now())
        AS evaluated,
    count(*) FILTER (WHERE satisfied
                       AND due_at >= now() - make_interval(days => :days) AND due_at < now())
        AS satisfied
FROM scoped
