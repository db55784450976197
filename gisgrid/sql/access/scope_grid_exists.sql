-- Whether a 15-digit scope names a grid (of any generation).
SELECT 1 FROM grid WHERE code = :p LIMIT 1
