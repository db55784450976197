-- A county's outline, to clip roads and places to.
SELECT code, geom FROM admin_unit WHERE code = :c AND level = 'county'
