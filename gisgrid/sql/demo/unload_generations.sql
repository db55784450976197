-- The county's grid generations.
DELETE FROM generation WHERE county_code = :c
