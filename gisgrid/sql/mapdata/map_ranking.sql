-- Per child unit (towns of a county, villages of a town): households, open and overdue cases,
-- grouped by the code prefix the child's grids share, so no geometry is touched.
WITH kids AS (
    SELECT code, name, CASE level WHEN 'town' THEN left(code, 9) ELSE code END AS prefix
    FROM admin_unit WHERE parent_code = :code
),
hh AS (
    SELECT k.code, count(h.id) AS n
    FROM kids k
    JOIN grid g ON g.valid_to IS NULL AND g.village_code LIKE k.prefix || '%'
    JOIN household h ON h.grid_id = g.id
    GROUP BY k.code
),
rp AS (
    SELECT k.code, count(r.id) AS open_cases,
           count(r.id) FILTER (WHERE r.due_at < now()) AS overdue_cases
    FROM kids k
    JOIN grid g ON g.valid_to IS NULL AND g.village_code LIKE k.prefix || '%'
    JOIN report r ON r.grid_id = g.id
    WHERE r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')
    GROUP BY k.code
)
SELECT k.code, k.name, coalesce(hh.n, 0) AS households,
       coalesce(rp.open_cases, 0) AS open_cases, coalesce(rp.overdue_cases, 0) AS overdue_cases
FROM kids k
LEFT JOIN hh ON hh.code = k.code
LEFT JOIN rp ON rp.code = k.code
