-- Imported units replace the stored ones in place (a blank name keeps the old one).
INSERT INTO admin_unit (code, name, level, parent_code, geom_generated, geom_source, geom)
SELECT code, COALESCE(NULLIF(name, ''), code), CAST(:l AS unit_level), parent_code, false, :s, geom
FROM boundary_unit_in
ON CONFLICT (code) DO UPDATE
SET name = COALESCE(NULLIF(EXCLUDED.name, ''), admin_unit.name),
    geom = EXCLUDED.geom,
    geom_generated = false,
    geom_source = EXCLUDED.geom_source
