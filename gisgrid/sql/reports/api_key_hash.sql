-- The stored hash of a key, by name.
SELECT key_hash FROM api_key WHERE name = :n
