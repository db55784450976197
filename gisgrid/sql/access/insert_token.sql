-- A new bearer token, stored only as its SHA-256.
INSERT INTO access_token (token_hash, account_id, expires_at) VALUES (:h, :a, :e)
