-- The newest current generation, the one grid tiles are cached under.
SELECT id FROM generation WHERE valid_to IS NULL ORDER BY valid_from DESC LIMIT 1
