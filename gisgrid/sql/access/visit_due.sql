-- Each household of a grid with its latest visit (入户走访) and whether it is due: care-tagged
-- households (关爱对象) every :care_days days, the others every :routine_days. Overdue
-- care-tagged households first, then other overdue ones, longest unvisited first.
SELECT h.id, h.address, h.size, h.care_tags, last.visited_at AS last_visit, last.kind AS last_kind,
       (last.visited_at IS NULL OR last.visited_at < now() - make_interval(days =>
           CASE WHEN cardinality(h.care_tags) > 0 THEN :care_days ELSE :routine_days END))
           AS due
FROM household h
JOIN grid g ON g.id = h.grid_id AND g.valid_to IS NULL
LEFT JOIN LATERAL (
    SELECT v.visited_at, v.kind FROM household_visit v
    WHERE v.household_id = h.id ORDER BY v.visited_at DESC LIMIT 1
) last ON true
WHERE g.code = :grid
ORDER BY (last.visited_at IS NULL OR last.visited_at < now() - make_interval(days =>
             CASE WHEN cardinality(h.care_tags) > 0 THEN :care_days ELSE :routine_days END)) DESC,
         (cardinality(h.care_tags) > 0) DESC,
         last.visited_at ASC NULLS FIRST, h.id
LIMIT :limit
