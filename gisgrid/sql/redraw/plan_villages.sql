-- The villages a draft covers.
SELECT DISTINCT village_code FROM redraw_plan_grid WHERE plan_id = :id ORDER BY village_code
