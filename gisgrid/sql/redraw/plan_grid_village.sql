-- The village of one grid in a draft.
SELECT village_code FROM redraw_plan_grid WHERE plan_id = :id AND code = :code
