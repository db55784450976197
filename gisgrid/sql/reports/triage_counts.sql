-- 三事分流 counts: how many cases of each class a unit took in during [:start, :end) (by when they
-- were reported), so a center sees the mix of private, collective and public affairs. Units come
-- as (code, grid-code prefix) pairs over every generation's grids; supporters (duplicates) and
-- cancelled reports were never cases of their own.
WITH u AS (
    SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:prefixes AS text[])) AS u(code, prefix)
),
taken AS (
    SELECT r.grid_id, r.triage FROM report r
    WHERE r.reported_at >= :start AND r.reported_at < :end
      AND r.duplicate_of IS NULL AND r.status <> 'cancelled'
)
SELECT u.code,
       count(t.grid_id) FILTER (WHERE t.triage = 'private') AS private,
       count(t.grid_id) FILTER (WHERE t.triage = 'collective') AS collective,
       count(t.grid_id) FILTER (WHERE t.triage = 'public') AS public,
       count(t.grid_id) AS total
FROM u
LEFT JOIN grid g ON g.code LIKE u.prefix || '%'
LEFT JOIN taken t ON t.grid_id = g.id
GROUP BY u.code
