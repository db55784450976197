-- Drafts inside a scope (a grid-code prefix: a unit's code starts with it), newest first.
SELECT p.id, p.unit_code, u.name AS unit_name, p.mode, p.band_min, p.band_max, p.seed,
       p.status, p.progress, p.message, p.generation_id, g.name AS generation,
       g.valid_to IS NOT NULL AS generation_replaced, p.username, p.created_at, p.updated_at,
       p.published_generation_id, p.summary -> 'totals' AS totals
FROM redraw_plan p
JOIN generation g ON g.id = p.generation_id
LEFT JOIN admin_unit u ON u.code = p.unit_code
WHERE p.unit_code LIKE :scope || '%'
ORDER BY p.id DESC
LIMIT :limit
