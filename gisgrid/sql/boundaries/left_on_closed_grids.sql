-- Households and open reports the move left on closed grids (should be none).
SELECT
  (SELECT count(*) FROM household
   WHERE grid_id IN (SELECT id FROM boundary_old_grid)) AS households,
  (SELECT count(*) FROM report WHERE grid_id IN (SELECT id FROM boundary_old_grid)
     AND status NOT IN ('closed', 'cancelled')) AS reports
