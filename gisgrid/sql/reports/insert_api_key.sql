-- A new API key, stored only as its SHA-256.
INSERT INTO api_key (name, key_hash) VALUES (:n, :h)
