-- The service's own key, created with a random secret the first time only.
INSERT INTO api_key (name, key_hash) VALUES (:n, :h) ON CONFLICT (name) DO NOTHING
