-- Reports received in the last :days days by category, for a unit (and categories, when
-- given): the mix by category and, grouped in Python by the taxonomy, by 三事 class.
SELECT r.category, count(*) AS n
FROM report r JOIN grid g ON g.id = r.grid_id
WHERE g.village_code LIKE CAST(:prefix AS text) || '%'
  AND r.duplicate_of IS NULL
  AND (CAST(:categories AS text[]) IS NULL OR r.category = ANY(CAST(:categories AS text[])))
  AND r.reported_at >= now() - make_interval(days => :days)
GROUP BY r.category
ORDER BY n DESC, r.category
