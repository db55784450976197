-- Remove a draft's grids and block assignment in these villages before writing them again.
WITH b AS (
  DELETE FROM redraw_plan_block
  WHERE plan_id = :id AND village_code = ANY(CAST(:villages AS text[]))
)
DELETE FROM redraw_plan_grid WHERE plan_id = :id AND village_code = ANY(CAST(:villages AS text[]))
