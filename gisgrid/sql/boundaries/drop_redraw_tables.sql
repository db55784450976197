-- Scratch tables of an earlier redraw in this transaction, if any.
DROP TABLE IF EXISTS boundary_old_grid, boundary_successor
