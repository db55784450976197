-- Grids of one unit in one generation (NULL = current) with the measures a map colours by.
-- Counts are grouped once per table rather than per grid, and the geometry is simplified to
-- the zoom's pixel size (tolerance 0 = exact) so a county's grids stay a small download.
WITH g AS (
    SELECT g.id, g.code, g.name, g.village_code, g.generation_id, g.geom_generated, g.geom
    FROM grid g
    WHERE (CASE WHEN CAST(:generation AS int) IS NULL THEN g.valid_to IS NULL
                ELSE g.generation_id = CAST(:generation AS int) END)
      AND g.village_code LIKE CAST(:prefix AS text) || '%'
      AND (CAST(:grid AS text) IS NULL OR g.code = CAST(:grid AS text))
      AND (CAST(:minx AS float8) IS NULL
           OR g.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))
),
hh AS (
    SELECT h.grid_id, count(*) AS n FROM household h
    WHERE h.grid_id IN (SELECT id FROM g) GROUP BY h.grid_id
),
rp AS (
    SELECT r.grid_id, count(*) AS open_cases,
           count(*) FILTER (WHERE r.due_at < now()) AS overdue_cases
    FROM report r
    WHERE r.grid_id IN (SELECT id FROM g)
      AND r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')
    GROUP BY r.grid_id
)
SELECT g.code, g.name, g.village_code, v.name AS village_name, g.generation_id,
       gen.name AS generation, g.geom_generated,
       coalesce(hh.n, 0) AS households,
       coalesce(rp.open_cases, 0) AS open_cases,
       coalesce(rp.overdue_cases, 0) AS overdue_cases,
       CASE WHEN CAST(:geometry AS boolean) THEN
       ST_AsGeoJSON(CASE WHEN CAST(:tolerance AS float8) > 0
                         THEN ST_SimplifyPreserveTopology(g.geom, CAST(:tolerance AS float8))
                         ELSE g.geom END, 6)::json END AS geometry
FROM g
JOIN generation gen ON gen.id = g.generation_id
LEFT JOIN admin_unit v ON v.code = g.village_code
LEFT JOIN hh ON hh.grid_id = g.id
LEFT JOIN rp ON rp.grid_id = g.id
ORDER BY g.code
