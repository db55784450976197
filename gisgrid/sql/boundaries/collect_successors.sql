-- Each closed grid's successor: the new grid holding the largest share of it.
CREATE TEMP TABLE boundary_successor ON COMMIT DROP AS
SELECT DISTINCT ON (old_grid_id) old_grid_id AS old_id, new_grid_id AS new_id
FROM grid_lineage
WHERE to_generation_id = :g AND new_grid_id IS NOT NULL
ORDER BY old_grid_id, share_of_old DESC, new_code
