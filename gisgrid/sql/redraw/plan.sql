-- One plan with its generation's state; `stalled` when a worker stopped reporting for 10 min.
SELECT p.*, g.name AS generation, g.valid_to IS NOT NULL AS generation_replaced,
       u.name AS unit_name,
       p.status IN ('queued', 'running') AND p.updated_at < now() - interval '10 minutes'
         AS stalled
FROM redraw_plan p
JOIN generation g ON g.id = p.generation_id
LEFT JOIN admin_unit u ON u.code = p.unit_code
WHERE p.id = :id
