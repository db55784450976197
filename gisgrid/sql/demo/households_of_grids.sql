-- Households of some grids with their group's leader: generated reports fall at people's doors,
-- and a household affair (自家事) can go to the household group's leader (联户长).
SELECT h.grid_id, g.code AS grid_code, ST_X(h.geom) AS x, ST_Y(h.geom) AS y, h.group_id,
       hg.leader_id
FROM household h
JOIN grid g ON g.id = h.grid_id
LEFT JOIN household_group hg ON hg.id = h.group_id
WHERE h.grid_id = ANY(CAST(:grids AS int[]))
ORDER BY h.id
