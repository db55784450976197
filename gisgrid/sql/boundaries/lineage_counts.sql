-- How many lineage rows of each relation (unchanged, split, merged...) the redraw made.
SELECT relation, count(*) FROM grid_lineage WHERE to_generation_id = :g
GROUP BY relation ORDER BY relation
