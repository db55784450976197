-- Fresh statistics: the planner would otherwise take the new generation for one row.
ANALYZE grid, grid_part, boundary_old_grid
