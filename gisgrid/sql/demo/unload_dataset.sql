-- The dataset row: the county is no longer loaded.
DELETE FROM dataset WHERE county_code = :c
