-- The scratch table is emptied, not dropped, when a transaction takes two batches.
TRUNCATE fix_in
