-- Whether an API key name is taken.
SELECT 1 FROM api_key WHERE name = :n
