-- The county's road segments in a box (GiST on geom), to cut villages along.
SELECT ST_AsBinary(geom) AS wkb FROM road_segment
WHERE county_code = :county AND geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
