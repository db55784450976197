-- One block set per village for this generation and road network; ids for the blocks' COPY.
INSERT INTO redraw_block_set (generation_id, village_code, roads_version)
SELECT :generation_id, v, :roads_version FROM unnest(CAST(:villages AS text[])) AS v
RETURNING id, village_code
