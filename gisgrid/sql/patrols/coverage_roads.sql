-- Road segments in the unit, clipped to it; segments wholly inside skip the costly clip.
WITH u AS (SELECT ST_GeomFromEWKB(:ugeom) AS g)
SELECT r.id, r.name, r.kind, r.generated, r.source_id,
       ST_AsBinary(CASE WHEN ST_CoveredBy(r.geom, u.g) THEN r.geom
                        ELSE ST_CollectionExtract(ST_Intersection(r.geom, u.g), 2) END) AS wkb
FROM road_segment r, u
WHERE r.geom && u.g AND ST_Intersects(r.geom, u.g)
ORDER BY r.id
