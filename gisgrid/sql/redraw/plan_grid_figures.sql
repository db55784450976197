-- A draft's grids without geometry, for its totals.
SELECT code, village_code, households, polsby_popper, in_band, changed
FROM redraw_plan_grid WHERE plan_id = :id
