-- The household register, scoped and masked inside PostGIS: rows outside the caller's scope
-- are never selected, and personal fields are masked here unless :reveal is true, so no
-- caller-side filtering can leak them.
SELECT h.id, g.code AS grid_code, h.group_id, hg.code AS group_code, h.address, h.size,
       h.care_tags, h.generated,
       CASE WHEN :reveal THEN h.head_name ELSE left(h.head_name, 1) || '**' END AS head_name,
       CASE WHEN :reveal THEN h.phone
            ELSE left(h.phone, 3) || '****' || right(h.phone, 4) END AS phone,
       CASE WHEN :reveal THEN h.id_number
            ELSE left(h.id_number, 6) || '********' || right(h.id_number, 4) END AS id_number,
       ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
       count(*) OVER () AS matched
FROM household h
JOIN grid g ON g.id = h.grid_id
LEFT JOIN household_group hg ON hg.id = h.group_id
WHERE g.code LIKE :scope || '%'
  AND (CAST(:grid AS text) IS NULL OR g.code = :grid)
  AND (CAST(:id AS bigint) IS NULL OR h.id = :id)
ORDER BY h.id
LIMIT :limit OFFSET :offset
