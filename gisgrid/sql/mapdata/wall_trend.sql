-- Per China day over the last :days days: reports received and cases closed, for a unit
-- (and categories, when given). Days without either are there with zeros.
WITH days AS (
    SELECT generate_series(
        date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') - make_interval(days => :days - 1),
        date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai'), interval '1 day')::date AS day
),
scoped AS (
    SELECT r.reported_at, r.closed_at, r.status
    FROM report r JOIN grid g ON g.id = r.grid_id
    WHERE g.village_code LIKE CAST(:prefix AS text) || '%'
      AND r.duplicate_of IS NULL
      AND (CAST(:categories AS text[]) IS NULL OR r.category = ANY(CAST(:categories AS text[])))
      AND (r.reported_at >= now() - make_interval(days => :days + 1)
           OR r.closed_at >= now() - make_interval(days => :days + 1))
),
received AS (
    SELECT (reported_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n
    FROM scoped GROUP BY 1
),
closed AS (
    SELECT (closed_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n
    FROM scoped WHERE status = 'closed' GROUP BY 1
)
SELECT d.day, coalesce(rc.n, 0) AS received, coalesce(cl.n, 0) AS closed
FROM days d
LEFT JOIN received rc ON rc.day = d.day
LEFT JOIN closed cl ON cl.day = d.day
ORDER BY d.day
