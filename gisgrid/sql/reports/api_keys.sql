-- Every key's name and dates (never the hash).
SELECT id, name, created_at, revoked_at FROM api_key ORDER BY id
