-- Each household of the unit with its latest fix within :r metres in the period. A box in
-- degrees (:dx, :dy per metre) lets the fix GiST index find candidates; ST_DWithin on
-- geography then measures in metres.
SELECT h.id, h.address, h.care_tags, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
       v.last_visit
FROM household h
JOIN grid gr ON gr.id = h.grid_id AND gr.valid_to IS NULL AND gr.code LIKE :prefix || '%'
LEFT JOIN LATERAL (
    SELECT max(f.t) AS last_visit FROM patrol_fix f
    WHERE f.geom && ST_Expand(h.geom, :dx * :r, :dy * :r)
      AND f.t >= :start AND f.t < :end
      AND ST_DWithin(f.geom::geography, h.geom::geography, :r)
) v ON true
ORDER BY h.id
