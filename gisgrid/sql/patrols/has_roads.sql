-- Whether a county has any road segment.
SELECT 1 FROM road_segment WHERE county_code = :c LIMIT 1
