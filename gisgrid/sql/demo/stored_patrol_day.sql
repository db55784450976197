-- What the dataset row says about the county's generated patrol day.
SELECT notes -> 'patrol_day' FROM dataset WHERE county_code = :c
