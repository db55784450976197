-- Scratch table for imported units, filled by COPY.
CREATE TEMP TABLE boundary_unit_in (code text, name text, parent_code text,
geom geometry(MultiPolygon, 4326)) ON COMMIT DROP
