-- Box of every grid version and the time they span (open-ended while one is current).
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), lo, hi
FROM (SELECT ST_Extent(geom) AS e, min(valid_from) AS lo,
             CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS hi
      FROM grid) q
