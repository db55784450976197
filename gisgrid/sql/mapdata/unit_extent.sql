-- Box of every administrative unit (no temporal extent).
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), NULL, NULL FROM
(SELECT ST_Extent(geom) AS e FROM admin_unit) q
