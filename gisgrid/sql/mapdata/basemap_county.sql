-- A county's outline (WKB) for fitting an OSM extract to it.
SELECT code, ST_AsBinary(geom) AS geom FROM admin_unit WHERE code = :code AND level = 'county'
