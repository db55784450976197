-- Places whose name holds the words asked, inside a unit (a grid-code prefix, '' for
-- everywhere): towns and villages, current grids by name or by code, household addresses and
-- named OpenStreetMap places. Trigram indexes serve the ILIKE; each kind is cut to a few rows
-- so one kind cannot crowd out the others. Exact names first, then names starting with the
-- words, then bigger places, then shorter names. Nothing personal: addresses without people.
WITH q AS (
    SELECT CAST(:q AS text) AS q, '%' || CAST(:pattern AS text) || '%' AS anywhere,
           CAST(:pattern AS text) || '%' AS starts, CAST(:prefix AS text) AS prefix,
           CAST(:digits AS boolean) AS digits
),
units AS (
    SELECT a.level::text AS kind, a.code, a.name, p.name AS sub,
           CASE a.level WHEN 'county' THEN 1 WHEN 'town' THEN 2 ELSE 3 END AS size, a.geom
    FROM admin_unit a LEFT JOIN admin_unit p ON p.code = a.parent_code, q
    WHERE a.name ILIKE q.anywhere AND a.code LIKE q.prefix || '%' AND a.geom IS NOT NULL
    ORDER BY (a.name = q.q) DESC, (a.name ILIKE q.starts) DESC, length(a.name)
    LIMIT 8
),
grids AS (
    SELECT 'grid' AS kind, g.code, g.name, v.name AS sub, 4 AS size, g.geom
    FROM grid g JOIN admin_unit v ON v.code = g.village_code, q
    WHERE g.valid_to IS NULL AND g.code LIKE q.prefix || '%'
      AND (g.name ILIKE q.anywhere OR (q.digits AND g.code LIKE q.q || '%'))
    ORDER BY (g.name = q.q OR g.code = q.q) DESC, (g.name ILIKE q.starts) DESC, g.code
    LIMIT 6
),
addresses AS (
    SELECT 'address' AS kind, NULL::text AS code, h.address AS name, g.name AS sub,
           6 AS size, h.geom
    FROM household h JOIN grid g ON g.id = h.grid_id, q
    WHERE h.address ILIKE q.anywhere AND g.code LIKE q.prefix || '%'
    ORDER BY (h.address ILIKE q.starts) DESC, length(h.address), h.id
    LIMIT 5
),
places AS (
    SELECT 'place' AS kind, NULL::text AS code, b.name, b.class AS sub, 5 AS size, b.geom
    FROM basemap_feature b, q
    WHERE b.kind IN ('place', 'water') AND b.name ILIKE q.anywhere
      AND b.county_code LIKE left(q.prefix, 6) || '%'
    ORDER BY (b.name = q.q) DESC, (b.name ILIKE q.starts) DESC, length(b.name)
    LIMIT 5
),
hits AS (
    SELECT * FROM units UNION ALL SELECT * FROM grids
    UNION ALL SELECT * FROM addresses UNION ALL SELECT * FROM places
)
SELECT h.kind, h.code, h.name, h.sub,
       ST_X(ST_PointOnSurface(h.geom)) AS lon, ST_Y(ST_PointOnSurface(h.geom)) AS lat,
       CASE WHEN GeometryType(h.geom) = 'POINT' THEN NULL
            ELSE ARRAY[ST_XMin(h.geom), ST_YMin(h.geom), ST_XMax(h.geom), ST_YMax(h.geom)]
       END AS bbox
FROM hits h, q
ORDER BY (h.name = q.q OR coalesce(h.code = q.q, false)) DESC, (h.name ILIKE q.starts) DESC, h.size,
         length(h.name), h.name
LIMIT :limit
