-- The county's road segments as WKB.
SELECT ST_AsBinary(geom) FROM road_segment WHERE county_code = :c ORDER BY id
