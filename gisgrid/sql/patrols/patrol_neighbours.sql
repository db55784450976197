-- Fixes already stored around a batch, so jumps are judged against both (offline batches come
-- out of order and in pieces).
SELECT f.staff_id, f.t, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
FROM patrol_fix f
WHERE f.staff_id = ANY(:staff) AND f.t BETWEEN :t0 AND :t1
ORDER BY f.staff_id, f.t
