-- The service's own basemap as one Mapbox vector tile: layers water, green, waterway,
-- buildings, roads and boundaries, each thinned by zoom so a county-wide tile stays small.
-- Rows are picked in the storage SRID against the tile envelope (GiST), simplified by a
-- quarter of a screen pixel and transformed to Web Mercator only then. Roads: a county's
-- OpenStreetMap roads where it has imported them, else its road network (road_segment:
-- what patrols are measured on, GENERATED in the demo county). Rank 0 trunk roads show from
-- zoom 8, 1 county roads from 10, 2 village roads from 12, 3 paths from 14.
WITH env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS m,
           ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS g,
           CAST(:pixel AS float8) / 4 AS tol,
           CAST(:pixel AS float8) * CAST(:pixel AS float8) * 4 AS min_area,
           CAST(:z AS int) AS z
),
osm_roads AS (
    SELECT a.code FROM admin_unit a
    WHERE a.level = 'county'
      AND EXISTS (SELECT 1 FROM basemap_feature b WHERE b.county_code = a.code AND b.kind = 'road')
),
areas AS (
    -- Water from zoom 8, green from 10; below 14 only areas of at least a few pixels.
    SELECT b.kind, b.name, b.class,
           ST_AsMVTGeom(ST_Transform(ST_SimplifyPreserveTopology(b.geom, env.tol), 3857),
                        env.m, 4096, 64, true) AS geom
    FROM basemap_feature b, env
    WHERE b.kind IN ('water', 'green') AND b.geom && env.g
      AND env.z >= CASE b.kind WHEN 'water' THEN 8 ELSE 10 END
      AND (env.z >= 14 OR ST_Area(b.geom) > env.min_area)
),
waterway AS (
    SELECT b.class,
           ST_AsMVTGeom(ST_Transform(ST_Simplify(b.geom, env.tol), 3857),
                        env.m, 4096, 64, true) AS geom
    FROM basemap_feature b, env
    WHERE b.kind = 'waterway' AND b.geom && env.g
      AND env.z >= CASE b.class WHEN 'river' THEN 9 WHEN 'canal' THEN 10
                                WHEN 'stream' THEN 12 ELSE 14 END
),
buildings AS (
    SELECT ST_AsMVTGeom(ST_Transform(b.geom, 3857), env.m, 4096, 64, true) AS geom
    FROM basemap_feature b, env
    WHERE b.kind = 'building' AND b.geom && env.g AND env.z >= 14
),
road_rows AS (
    SELECT r.kind AS class, r.name, r.geom FROM road_segment r, env
    WHERE r.geom && env.g AND env.z >= 8 AND r.county_code NOT IN (SELECT code FROM osm_roads)
    UNION ALL
    SELECT b.class, b.name, b.geom FROM basemap_feature b, env
    WHERE b.kind = 'road' AND b.geom && env.g AND env.z >= 8
),
ranked AS (
    SELECT class, name, geom,
           CASE WHEN class IN ('motorway', 'trunk', 'primary', 'motorway_link', 'trunk_link',
                               'primary_link') THEN 0
                WHEN class IN ('secondary', 'tertiary', 'secondary_link', 'tertiary_link',
                               'county_road') THEN 1
                WHEN class IN ('residential', 'unclassified', 'village_road', 'living_street',
                               'service', 'road') THEN 2
                ELSE 3 END AS rank
    FROM road_rows
),
roads AS (
    SELECT ranked.class, ranked.rank, ranked.name,
           ST_AsMVTGeom(ST_Transform(ST_Simplify(ranked.geom, env.tol), 3857),
                        env.m, 4096, 64, true) AS geom
    FROM ranked, env
    WHERE env.z >= CASE ranked.rank WHEN 0 THEN 8 WHEN 1 THEN 10 WHEN 2 THEN 12 ELSE 14 END
),
boundaries AS (
    SELECT a.level::text AS level,
           ST_AsMVTGeom(ST_Transform(ST_Boundary(ST_SimplifyPreserveTopology(a.geom, env.tol)),
                                     3857), env.m, 4096, 64, true) AS geom
    FROM admin_unit a, env
    WHERE a.geom && env.g
      AND (a.level = 'county' OR (a.level = 'town' AND env.z >= 9)
           OR (a.level = 'village' AND env.z >= 12))
)
SELECT coalesce((SELECT ST_AsMVT(t, 'water', 4096, 'geom')
                 FROM (SELECT name, geom FROM areas WHERE kind = 'water') t
                 WHERE t.geom IS NOT NULL), ''::bytea)
    || coalesce((SELECT ST_AsMVT(t, 'green', 4096, 'geom')
                 FROM (SELECT class, geom FROM areas WHERE kind = 'green') t
                 WHERE t.geom IS NOT NULL), ''::bytea)
    || coalesce((SELECT ST_AsMVT(t, 'waterway', 4096, 'geom') FROM waterway t
                 WHERE t.geom IS NOT NULL), ''::bytea)
    || coalesce((SELECT ST_AsMVT(t, 'buildings', 4096, 'geom') FROM buildings t
                 WHERE t.geom IS NOT NULL), ''::bytea)
    || coalesce((SELECT ST_AsMVT(t, 'roads', 4096, 'geom') FROM roads t
                 WHERE t.geom IS NOT NULL), ''::bytea)
    || coalesce((SELECT ST_AsMVT(t, 'boundaries', 4096, 'geom') FROM boundaries t
                 WHERE t.geom IS NOT NULL), ''::bytea)
