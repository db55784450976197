-- Where a county's basemap comes from: its OSM import and its road network (generated or not).
SELECT (SELECT count(*) FROM basemap_feature WHERE county_code = :county) AS osm_features,
       (SELECT count(*) FROM basemap_feature
        WHERE county_code = :county AND kind = 'road') AS osm_roads,
       (SELECT count(*) FROM road_segment WHERE county_code = :county) AS network_roads,
       coalesce((SELECT bool_and(generated) FROM road_segment WHERE county_code = :county),
                false) AS roads_generated
