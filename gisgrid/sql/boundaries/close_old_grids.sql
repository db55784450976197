-- Close the county's current grids at the redraw's valid_from.
UPDATE grid SET valid_to = :f WHERE id IN (SELECT id FROM boundary_old_grid)
