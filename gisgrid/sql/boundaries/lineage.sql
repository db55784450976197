-- Lineage of a redraw from overlap on the sphere: each closed grid against each new grid it
-- touches. Pairs sharing less than min_share of the smaller area are redrawn edges, not descent.
WITH pairs AS (
  SELECT o.id AS old_id, o.code AS old_code, o.name AS old_name,
         n.id AS new_id, n.code AS new_code, n.name AS new_name,
         ST_Area(ST_Intersection(o.geom, n.geom)::geography) AS overlap_m2,
         ST_Area(o.geom::geography) AS old_m2, ST_Area(n.geom::geography) AS new_m2
  FROM boundary_old_grid og
  JOIN grid o ON o.id = og.id
  JOIN grid n ON n.generation_id = :gen AND ST_Intersects(o.geom, n.geom)
), sig AS (
  SELECT *, overlap_m2 / NULLIF(old_m2, 0) AS share_of_old,
         overlap_m2 / NULLIF(new_m2, 0) AS share_of_new
  FROM pairs
  WHERE overlap_m2 >= :min_share * LEAST(old_m2, new_m2)
), counted AS (
  SELECT *, count(*) OVER (PARTITION BY old_id) AS n_new,
         count(*) OVER (PARTITION BY new_id) AS n_old
  FROM sig
)
INSERT INTO grid_lineage (to_generation_id, old_grid_id, new_grid_id, old_code, new_code,
                          relation, overlap_m2, share_of_old, share_of_new)
SELECT :gen, old_id, new_id, old_code, new_code,
       CASE
         WHEN n_new = 1 AND n_old = 1 THEN
           CASE
             WHEN share_of_old < 0.99 OR share_of_new < 0.99 THEN 'reshaped'
             WHEN old_code = new_code AND old_name = new_name THEN 'unchanged'
             ELSE 'renamed'
           END
         WHEN n_old = 1 THEN 'split'
         WHEN n_new = 1 THEN 'merged'
         ELSE 'redrawn'
       END,
       overlap_m2, share_of_old, share_of_new
FROM counted
UNION ALL
SELECT :gen, o.id, NULL, o.code, NULL, 'retired', 0, 0, NULL
FROM boundary_old_grid og
JOIN grid o ON o.id = og.id
WHERE NOT EXISTS (SELECT 1 FROM counted c WHERE c.old_id = o.id)
UNION ALL
SELECT :gen, NULL, n.id, NULL, n.code, 'created', 0, NULL, 0
FROM grid n
WHERE n.generation_id = :gen AND NOT EXISTS (SELECT 1 FROM counted c WHERE c.new_id = n.id)
