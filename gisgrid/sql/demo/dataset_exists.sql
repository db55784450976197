-- Whether a demo county is loaded (by any generator).
SELECT 1 FROM dataset WHERE county_code = :c
