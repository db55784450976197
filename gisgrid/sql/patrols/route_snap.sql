-- Each stop's nearest network node: the nearer end of the nearest edge (KNN on the GiST index).
SELECT p.i, n.node, n.dist_m
FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, i)
CROSS JOIN LATERAL (
    SELECT CASE WHEN ST_Distance(ST_StartPoint(e.geom), pt) <= ST_Distance(ST_EndPoint(e.geom), pt)
                THEN e.source ELSE e.target END AS node,
           ST_Distance(e.geom::geography, pt::geography) AS dist_m
    FROM route_edges e, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS pt
    ORDER BY e.geom <-> pt LIMIT 1
) n
ORDER BY p.i
