-- What road network blocks are cut by: a new import changes the count or the newest id.
SELECT count(*) AS n, coalesce(max(id), 0) AS max_id FROM road_segment WHERE county_code = :county
