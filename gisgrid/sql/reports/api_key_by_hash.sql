-- The key a client sent, by its hash, and whether it is revoked.
SELECT id, revoked_at FROM api_key WHERE key_hash = :h
