-- Discard a draft (its blocks' assignment and grids go with it).
DELETE FROM redraw_plan WHERE id = :id
