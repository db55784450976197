-- The generation a plan starts from, with its county and whether it is still current.
SELECT id, name, county_code, valid_from, valid_to FROM generation WHERE id = :generation_id
