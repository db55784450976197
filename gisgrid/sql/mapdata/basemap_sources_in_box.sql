-- What the basemap of the counties in a box is drawn from: an OSM import, and whether their
-- road network is GENERATED (the demo county's), for the map's attribution line.
SELECT a.code,
       EXISTS (SELECT 1 FROM basemap_feature b WHERE b.county_code = a.code) AS osm,
       coalesce((SELECT bool_and(r.generated) FROM road_segment r
                 WHERE r.county_code = a.code), false) AS roads_generated
FROM admin_unit a
WHERE a.level = 'county' AND a.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
ORDER BY a.code
