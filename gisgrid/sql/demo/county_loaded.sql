-- Whether this generator's demo county is loaded.
SELECT 1 FROM dataset WHERE county_code = :c AND generator = :g
