-- Names to write on the map inside a box, biggest first: counties, towns and villages from
-- the units (real names in the demo county), current grids (street zooms only), named places
-- and named water from the OpenStreetMap import. min_zoom is where each appears (zooms: kind
-- -> zoom, as JSON).
WITH box AS (
    SELECT ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AS g, CAST(:zooms AS jsonb) AS z
),
names AS (
    SELECT a.name, a.level::text AS kind, ST_PointOnSurface(a.geom) AS pt
    FROM admin_unit a, box
    WHERE a.geom && box.g
    UNION ALL
    SELECT g.name, 'grid', ST_PointOnSurface(g.geom)
    FROM grid g, box
    WHERE g.valid_to IS NULL AND g.geom && box.g
    UNION ALL
    SELECT b.name, b.class, b.geom
    FROM basemap_feature b, box
    WHERE b.kind = 'place' AND b.name IS NOT NULL AND b.geom && box.g
    UNION ALL
    SELECT b.name, 'water', ST_PointOnSurface(b.geom)
    FROM basemap_feature b, box
    WHERE b.kind = 'water' AND b.name IS NOT NULL AND b.geom && box.g
)
SELECT n.name, n.kind, ST_X(n.pt) AS lon, ST_Y(n.pt) AS lat,
       coalesce(CAST(box.z ->> n.kind AS int), 15) AS min_zoom
FROM names n, box
WHERE ST_Intersects(n.pt, box.g)
ORDER BY min_zoom, n.kind, n.name
LIMIT :limit
