-- The dataset row no longer describes a patrol day.
UPDATE dataset SET notes = notes - 'patrol_day' WHERE county_code = :c
