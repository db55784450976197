-- The county's road network.
DELETE FROM road_segment WHERE county_code = :c
