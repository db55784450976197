-- The village of one block in a draft.
SELECT village_code, grid_code FROM redraw_plan_block WHERE plan_id = :id AND block_id = :block
