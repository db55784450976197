-- Villages whose blocks are already cut for this generation and road network.
SELECT id, village_code FROM redraw_block_set
WHERE generation_id = :generation_id AND roads_version = :roads_version
  AND village_code = ANY(CAST(:villages AS text[]))
