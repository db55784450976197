-- Who holds each open case of a grid: a person (full_time, grid_chief, part_time) or, once it
-- went up (上报), a level (village, town, county): a phone must not offer 受理 on those.
SELECT r.id, r.handler_level, r.escalations
FROM report r JOIN grid g ON g.id = r.grid_id
WHERE g.code = :grid AND r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')
