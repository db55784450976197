-- Open reports (not resolved, closed or cancelled) of a unit or one grid, newest first, with
-- the overdue flag computed by the database clock so every client agrees on it. Due soon
-- (临期): not late yet but in the last quarter of the span from dispatch to the limit (calendar
-- time, an early warning rather than a rule). Supervised: how often the center chased it (督办).
-- One GeoJSON document built by the database, for the wall's poll and the pages alike: a
-- county's open reports run to thousands, and a Python object per report and field cost the
-- worker ten times what the query costs (issue 13). Times as PostgreSQL writes them (a
-- fraction's trailing zeros left out); category names come in as parameters (the taxonomy is code).
WITH r AS (
    SELECT r.id, r.category, r.status::text AS status, r.source, r.generated,
           r.reported_at, r.due_at, (r.due_at < now()) AS overdue,
           (r.due_at >= now() AND r.due_at - now() < (r.due_at - r.dispatched_at) / 4) AS due_soon,
           (SELECT count(*) FROM report_event e
            WHERE e.report_id = r.id AND e.action = 'supervise')::int AS supervised,
           extract(epoch FROM now() - r.due_at)::float8 / 3600 AS hours_overdue,
           g.code AS grid_code, g.name AS grid_name,
           ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat
    FROM report r
    JOIN grid g ON g.id = r.grid_id
    WHERE r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')
      AND g.village_code LIKE CAST(:prefix AS text) || '%'
      AND (CAST(:grid AS text) IS NULL OR g.code = CAST(:grid AS text))
      AND (NOT CAST(:overdue_only AS boolean) OR r.due_at < now())
    ORDER BY CASE WHEN CAST(:overdue_only AS boolean) THEN r.due_at END ASC NULLS LAST,
             r.reported_at DESC, r.id DESC
    LIMIT :limit
),
cat AS (
    SELECT * FROM unnest(CAST(:cat_codes AS text[]), CAST(:cat_names AS text[]),
                         CAST(:cat_zh AS text[])) AS c(code, name, zh)
)
SELECT json_build_object(
    'type', 'FeatureCollection',
    'numberReturned', count(r.id),
    'truncated', count(r.id) = :limit,
    'features', coalesce(json_agg(json_build_object(
        'type', 'Feature',
        'id', r.id,
        'geometry', json_build_object('type', 'Point', 'coordinates', json_build_array(r.lon, r.lat)),
        'properties', json_build_object(
            'id', r.id,
            'category', r.category,
            'category_name', coalesce(c.name, r.category),
            'category_zh', coalesce(c.zh, r.category),
            'status', r.status,
            'source', r.source,
            'generated', r.generated,
            'reported_at', r.reported_at,
            'due_at', r.due_at,
            'overdue', coalesce(r.overdue, false),
            'due_soon', coalesce(r.due_soon, false),
            'supervised', r.supervised,
            'hours_overdue', CASE WHEN r.overdue THEN round(r.hours_overdue::numeric, 1) END,
            'grid_code', r.grid_code,
            'grid_name', r.grid_name)
    ) ORDER BY CASE WHEN CAST(:overdue_only AS boolean) THEN r.due_at END ASC NULLS LAST,
               r.reported_at DESC, r.id DESC) FILTER (WHERE r.id IS NOT NULL), '[]'::json))::text AS geojson
FROM r LEFT JOIN cat c ON c.code = r.category
