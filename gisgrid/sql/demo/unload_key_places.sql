-- The county's key places.
DELETE FROM key_place WHERE county_code = :c
