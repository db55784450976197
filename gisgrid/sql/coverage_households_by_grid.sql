-- Patrol coverage as scoring sheets count it: the share of each grid's households with a patrol
-- fix within :radius_m metres since :since. The && box (:radius_deg, generous) keeps each probe
-- on patrol_fix's GiST index; the geography test is the exact one, in metres.
SELECT g.code,
       count(h.id) AS households,
       count(h.id) FILTER (WHERE EXISTS (
           SELECT 1 FROM patrol_fix f
           WHERE f.t >= :since
             AND f.geom && ST_Expand(h.geom, :radius_deg)
             AND ST_DWithin(f.geom::geography, h.geom::geography, :radius_m)
       )) AS visited
FROM grid g
JOIN household h ON h.grid_id = g.id
WHERE g.code = ANY(:codes) AND g.valid_to IS NULL
GROUP BY g.code
