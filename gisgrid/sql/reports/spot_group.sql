-- The household group (联户) of the household nearest a case inside its grid: whose household
-- affair (自家事) it is, so the group's leader can take part. KNN on the household index.
SELECT h.group_id
FROM household h, report r
WHERE r.id = :report AND h.grid_id = :grid
ORDER BY h.geom <-> r.geom
LIMIT 1
