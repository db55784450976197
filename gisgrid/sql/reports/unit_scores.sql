-- Closure scores per unit for the reports that fell due in [:start, :end): due, closed
-- (结案率 = closed / due), closed on time (按期结案率 = on time / due), call-back verdicts and
-- escalations. Units come as (code, grid-code prefix) pairs; every generation's grids count,
-- because a closed report stays on the grid that handled it. Supporters (duplicates) are
-- handled with their original and cancelled reports were never cases, so neither counts.
WITH u AS (
    SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:prefixes AS text[])) AS u(code, prefix)
),
due AS (
    SELECT r.grid_id, r.status, r.closed_at, r.due_at, r.satisfied, r.escalations
    FROM report r
    WHERE r.due_at >= :start AND r.due_at < :end
      AND r.duplicate_of IS NULL AND r.status <> 'cancelled'
)
SELECT u.code,
       count(d.due_at) AS due,
       count(d.due_at) FILTER (WHERE d.status = 'closed' AND d.closed_at < :end) AS closed,
       count(d.due_at) FILTER (WHERE d.status = 'closed' AND d.closed_at <= d.due_at) AS on_time,
       count(d.due_at) FILTER (WHERE d.satisfied IS NOT NULL) AS evaluated,
       count(d.due_at) FILTER (WHERE d.satisfied) AS satisfied,
       coalesce(sum(d.escalations), 0)::int AS escalations
FROM u
LEFT JOIN grid g ON g.code LIKE u.prefix || '%'
LEFT JOIN due d ON d.grid_id = g.id
GROUP BY u.code
