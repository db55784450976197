-- Households at an address (exact match): a report's place when it has no coordinates.
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, grid_id FROM household
WHERE address = :a LIMIT 5
