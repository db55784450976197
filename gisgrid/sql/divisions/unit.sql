-- One administrative unit with its parent and how many children and grids it has.
SELECT u.code, u.name, u.level::text AS level, u.urban_rural, u.geom_generated, u.geom_source,
       p.code AS parent_code, p.name AS parent_name, p.level::text AS parent_level,
       (SELECT count(*) FROM admin_unit k WHERE k.parent_code = u.code) AS children,
       (SELECT count(*) FROM grid g
         WHERE g.valid_to IS NULL AND g.village_code LIKE :prefix || '%') AS grids,
       ST_AsGeoJSON(ST_Envelope(u.geom), 7)::json AS envelope,
       CASE WHEN :geometry THEN ST_AsGeoJSON(u.geom, 7)::json END AS geometry
FROM admin_unit u
LEFT JOIN admin_unit p ON p.code = u.parent_code
WHERE u.code = :code
